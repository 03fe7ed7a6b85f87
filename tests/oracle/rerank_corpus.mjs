// Query–document sets for reranker parity: English, Chinese, code, a long document, special-token text.
const LONG = Array.from({ length: 80 }, (_, i) => `Paragraph ${i} explains how topic ${i % 9} relates to the others.`)
  .join(" ");

export const RERANK_CORPUS = [
  {
    query: "What is the capital of China?",
    documents: [
      "The capital of China is Beijing.",
      "Gravity is a force that attracts two bodies towards each other.",
      "北京是中华人民共和国的首都，也是全国的政治、文化中心。",
      LONG,
    ],
  },
  {
    query: "如何计算斐波那契数列？",
    documents: [
      "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
      "斐波那契数列的每一项是前两项之和。",
      "東京は日本の首都です。",
    ],
  },
  {
    query: "vector dot product in C",
    documents: [
      "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
      "SELECT name FROM users WHERE id = 42;",
      "<|im_start|>user\nhello<|im_end|>",
      "Tabs\tand   spaces\r\nand CRLF\r\n\r\nlines",
    ],
    instruction: "Given a code search query, retrieve code that answers it",
  },
];
