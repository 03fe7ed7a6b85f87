// Deterministic, varied text corpus for tokenizer parity tests (qembed vs HF tokenizers).
//
//   node tests/oracle/tokenizer_corpus.mjs [--lines N] [--seed S] > corpus.jsonl   (one {"text": ...} per line)
//   import { generateCorpus } from "./tokenizer_corpus.mjs"
//
// Every entry is valid Unicode (no lone surrogates). Code points are drawn only from blocks assigned in Unicode
// 15.0 or earlier: qembed classifies letters/digits with the system ICU (ICU 72 = Unicode 15.0 on Debian 12)
// while Node's ICU is newer (Unicode 17 in Node 20.20), so a character assigned after 15.0 is a letter to the
// oracle but unassigned ("other") to qembed. That is a data-version difference, not a tokenizer bug.
//
// Known deviation of the JS oracle from Rust HF tokenizers (Oniguruma): the JS port rewrites (?i:'s|...) to
// ASCII-only case folding ('[sS]), while Oniguruma's Unicode case folding also lets U+017F (ſ, long s) match 's'
// (NFC keeps ſ; the other non-ASCII folds, like U+212A Kelvin -> k, are removed by NFC or concern no contraction
// letter). So "'ſ" is expected to be one contraction piece in Rust and part of a letter run in JS. qembed follows the JS oracle; the corpus includes the case so the choice stays pinned.
// Both engines agree that \s is Unicode White_Space (U+0085 yes, U+FEFF no): the JS port rewrites \s to
// \p{White_Space} for exactly that reason.

// mulberry32: tiny seeded PRNG so the corpus is identical on every machine.
function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (arr) => arr[Math.floor(next() * arr.length)];
  return { next, int, pick };
}

const ENGLISH = [
  "The quick brown fox jumps over the lazy dog.",
  "Qwen3 embedding models turn text into vectors for retrieval and clustering.",
  "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
  "DON'T PANIC. I'M SURE WE'LL BE FINE, THEY'RE ALMOST HERE AND YOU'VE GOT THE TOWEL'S CORNER.",
  "She said: \"I'd rather not,\" and he'd've agreed if he'd known. Don't, won't, can't, shan't.",
  "Mr. O'Neill's dog's bone—it's over there (near the 'old' shed)!",
  "Prices rose 3.5% in Q3 2024; revenue was $1,234,567.89 vs. $987,654.32 a year earlier.",
  "Email me at john.doe+test@example.com or visit https://example.org/path?q=1&r=2#frag.",
  "   leading spaces, trailing spaces   ",
  "Tabs\tbetween\twords\tand\t\tdouble tabs.",
  "Line one\nLine two\n\nLine four after a blank line\n",
  "Windows line endings\r\nsecond line\r\n\r\nfourth\r\n",
  "What's up? 'S 'T 'RE 'VE 'M 'LL 'D 's 't 're 've 'm 'll 'd",
  "rock'n'roll, y'all, ma'am, o'clock, 'tis, 'twas, ol' boy",
  "ALL CAPS SENTENCE WITH NUMBERS 12345 AND SYMBOLS #@!",
  "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
];

const CHINESE = [
  "我们使用向量嵌入来进行语义搜索。",
  "今天天气很好，我们去公园散步吧！",
  "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
  "《红楼梦》是中国古典四大名著之一。",
  "北京、上海、广州和深圳是中国的一线城市。",
];
const JAPANESE = [
  "東京は日本の首都です。",
  "私はコーヒーが好きですが、紅茶も飲みます。",
  "カタカナとひらがなと漢字を混ぜて書きます。ｶﾀｶﾅ（半角）も。",
  "吾輩は猫である。名前はまだ無い。",
];
const KOREAN = [
  "안녕하세요, 만나서 반갑습니다.",
  "한국어 문장은 띄어쓰기를 사용합니다.",
  "서울특별시는 대한민국의 수도이다.",
];
const ARABIC = [
  "مرحبا بالعالم! كيف حالك اليوم؟",
  "اللغة العربية تكتب من اليمين إلى اليسار.",
  "الأرقام العربية: ٠١٢٣٤٥٦٧٨٩ والفارسية: ۰۱۲۳۴۵۶۷۸۹",
  "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
];
const CYRILLIC = [
  "Привет, мир! Как дела?",
  "Москва — столица России. Ёлка, йогурт, щука.",
  "Українська мова: ґанок, їжак, єнот.",
  "СЛОВА ЗАГЛАВНЫМИ БУКВАМИ И цифры 2024.",
];
const DEVANAGARI = [
  "नमस्ते दुनिया! आप कैसे हैं?",
  "हिन्दी भारत की राजभाषा है। संख्याएँ: ०१२३४५६७८९",
  "क्षत्रिय ज्ञान श्री द्वार",
];
const THAI = [
  "สวัสดีครับ ยินดีต้อนรับ",
  "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ ตัวเลข ๐๑๒๓๔๕๖๗๘๙",
];
const OTHER_SCRIPTS = [
  "Γειά σου Κόσμε! Ελληνικά με τόνους: ά έ ή ί ό ύ ώ ΐ ΰ.",
  "שלום עולם! עברית עם ניקוד: שָׁלוֹם",
  "Tiếng Việt có nhiều dấu: Nguyễn, Trường, Hồ Chí Minh, ử ữ ự.",
  "Türkçe: İstanbul, ığdır, ŞEHİR, çiçek, öğrenci.",
  "Deutsch: Größe, Straße, Äpfel, Öl, Übermaß. ẞ",
  "Français: être, naïve, cœur, Noël, façade, à bientôt!",
  "Español: ¿Dónde está el niño? ¡Mañana!",
  "Polski: zażółć gęślą jaźń. Čeština: příliš žluťoučký kůň.",
  "ქართული ენა, Հայերեն լեզու, ᐃᓄᒃᑎᑐᑦ, ܐܪܡܝܐ",
  "தமிழ் மொழி, తెలుగు, ಕನ್ನಡ, മലയാളം, বাংলা ভাষা, ਪੰਜਾਬੀ, ગુજરાતી",
  "မြန်မာဘာသာ, ខ្មែរ, ລາວ, བོད་སྐད, ᠮᠣᠩᠭᠣᠯ",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒜𝓁𝓅𝒽𝒶 𝟙𝟚𝟛 ∑∫∂√∞ ≤≥≠ ½ ¾ ² ³ ⅷ Ⅻ",
];

const CODE = [
  "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  "import numpy as np\n\nx = np.arange(10).reshape(2, 5)\nprint(x.T @ x)  # matrix product\n",
  "class Foo(Base):\n    \"\"\"Docstring with 'quotes'.\"\"\"\n\n    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)\n",
  "#include <stdio.h>\n\nint main(int argc, char **argv) {\n\tprintf(\"Hello, %s!\\n\", argv[0]);\n\treturn 0;\n}\n",
  "for (size_t i = 0; i < n; ++i) { sum += a[i] * b[i]; }  // dot product\n",
  "template <typename T> std::vector<T> f(const T& x) noexcept { return {x, x}; }",
  "{\"name\": \"qembed\", \"version\": \"0.1.0\", \"tags\": [\"a\", \"b\"], \"nested\": {\"k\": null, \"n\": -1.5e-3}}",
  "[\n  {\n    \"id\": 1,\n    \"ok\": true\n  },\n  {\n    \"id\": 2,\n    \"ok\": false\n  }\n]\n",
  "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}' >> out.log 2>&1\ndone\n",
  "curl -sSL -X POST https://api.example.com/v1/embed -H 'Content-Type: application/json' -d '{\"input\":\"hi\"}'",
  "SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 GROUP BY u.id;",
  "const add = (a, b) => a + b; // arrow fn\nconsole.log(`sum=${add(1, 2)}`);\n",
  "<html><body><div class=\"x\">Hello &amp; goodbye &lt;3</div></body></html>",
  "fn main() -> Result<(), Box<dyn Error>> {\n    let v: Vec<u8> = vec![0xFF; 16];\n    Ok(())\n}\n",
  "    \n\t\n  \r\n",
  "x=1;y=2;;;z===3!==4&&||>>=<<=...->::",
];

const EMOJI = [
  "I love pizza 🍕🍕🍕 and tacos 🌮!",
  "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨 technologist: 🧑🏽‍💻",
  "Thumbs: 👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿",
  "Flags: 🇺🇸 🇯🇵 🇩🇪 🇫🇷 🇨🇳 🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
  "Hearts ❤️ ❤ 💙 💚 ✨ ☀️ ⭐ keycaps 1️⃣ #️⃣ *️⃣",
  "Rainbow flag 🏳️‍🌈 and trans flag 🏳️‍⚧️ and pirate 🏴‍☠️",
  "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘",
];

// Non-NFC input: NFC must compose these before the pre-tokenizer sees them.
const NON_NFC = [
  "Cafe\u0301 re\u0301sume\u0301 nai\u0308ve",
  "A\u030Angstro\u0308m and \u212Bngstr\u00F6m (Kelvin sign-free)",
  "\u1100\u1161\u11A8 \u1112\u1161\u11AB\u1100\u1173\u11AF",  // Hangul jamo sequences -> syllables
  "e\u0301\u0301 double accent, o\u0308\u0304, a\u0328\u0301",
  "\u0041\u030A\u0301 \u00C5 \u212B",
  "Vie\u0323\u0302t Nam, Nguye\u0302\u0303n",
  "\u0915\u093C \u0958 (nukta forms; U+0958 is a composition exclusion)",
  "\u2126 ohm sign, \u212A kelvin, \u1E9B\u0323 long s with dots",
  "\u0344 \u0340 \u0341 \u0343 \u0374 \u037E \u0387",
  "\u3099\u309A \u304B\u3099 \u30CF\u309A",
];

// Whitespace the \s class disagrees on across regex engines, and other oddities.
const SPACES = ["\u00A0", "\u3000", "\u2028", "\u2029", "\u0085", "\u000B", "\u000C", "\uFEFF", "\u2003", "\u200B",
  "\u202F", "\u205F", "\u1680", "\u180E", "\u200D", "\t", "\r", "\n", "\r\n", " ", "  ", "   "];

const SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|box_end|>",
  "<|vision_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|file_sep|>", "<think>", "</think>",
  "<tool_response>", "</tool_response>"];
const NEAR_SPECIAL = ["<|endoftext|", "<|endoftext", "<|im_start", "<|im_end|", "<think", "</think", "< think>",
  "<|ENDOFTEXT|>", "<<|im_end|>>", "<|<|im_start|>|>", "<tool_call><tool_call>", "<|endoftext|><|endoftext|>"];

const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'M",
  "'LL", "'Ll", "'D", "'x", "''", "'", "'ſ", "'\u212A"];

// Blocks assigned in Unicode <= 15.0, used for random code points. [first, last] inclusive.
const RANGES = [
  [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x00, 0x1f], [0xa0, 0xff], [0x100, 0x17f], [0x180, 0x24f],
  [0x250, 0x2af], [0x2b0, 0x2ff], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f],
  [0x5d0, 0x5ea], [0x600, 0x6ff], [0x900, 0x97f], [0x980, 0x9ff], [0xe00, 0xe7f], [0x10a0, 0x10ff],
  [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x1f00, 0x1fff], [0x2000, 0x206f], [0x2070, 0x209f], [0x20a0, 0x20c0],
  [0x2100, 0x214f], [0x2150, 0x218b], [0x2190, 0x22ff], [0x2460, 0x24ff], [0x2500, 0x25ff], [0x2600, 0x26ff],
  [0x2700, 0x27bf], [0x3000, 0x303f], [0x3040, 0x309f], [0x30a0, 0x30ff], [0x3130, 0x318e], [0x4e00, 0x9fff],
  [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfb00, 0xfb4f], [0xfe30, 0xfe4f], [0xff00, 0xffef], [0x1d400, 0x1d7ff],
  [0x1f300, 0x1f5ff], [0x1f600, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2a6df],
];

function randomCodePoints(rng, n) {
  let s = "";
  for (let i = 0; i < n; ++i) {
    const [lo, hi] = rng.pick(RANGES);
    s += String.fromCodePoint(rng.int(lo, hi));
  }
  return s;
}

const POOLS = [ENGLISH, CHINESE, JAPANESE, KOREAN, ARABIC, CYRILLIC, DEVANAGARI, THAI, OTHER_SCRIPTS, CODE, EMOJI,
  NON_NFC];
const ALL_SENTENCES = POOLS.flat();

function digits(rng, n) {
  let s = "";
  for (let i = 0; i < n; ++i) s += String(rng.int(0, 9));
  return s;
}

// Words cut from the fixed sentences, so random mixes still look like text.
const WORDS = ALL_SENTENCES.flatMap((s) => s.split(/\s+/u)).filter((w) => w.length > 0);

function randomMix(rng) {
  const parts = [];
  const n = rng.int(1, 25);
  for (let i = 0; i < n; ++i) {
    const r = rng.next();
    if (r < 0.45) parts.push(rng.pick(WORDS));
    else if (r < 0.6) parts.push(rng.pick(SPACES));
    else if (r < 0.68) parts.push(rng.pick(CONTRACTIONS));
    else if (r < 0.74) parts.push(digits(rng, rng.int(1, 12)));
    else if (r < 0.8) parts.push(rng.pick(SPECIAL));
    else if (r < 0.84) parts.push(rng.pick(NEAR_SPECIAL));
    else if (r < 0.94) parts.push(randomCodePoints(rng, rng.int(1, 8)));
    else parts.push(rng.pick(EMOJI));
    if (rng.next() < 0.5) parts.push(" ");
  }
  return parts.join("");
}

// Hand-picked edge cases, always included first. No empty text: the CLI rejects it as a user error (the
// tokenizer's own empty-text behaviour is a unit test).
const FIXED = [
  " ", "  ", "\n", "\r\n", "\t", "a", "A", "0", "'", "'s", "hello", " hello", "  hello", "hello ", "hello  ",
  "a<|endoftext|>b", "<|endoftext|>", "<|endoftext|><|endoftext|>", "text then eos <|endoftext|>",
  "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
  "<think>\nreasoning\n</think>\n\nanswer", "<|endoftext|>\u0301 combining after special",
  "DON'T", "I'M", "WE'LL", "THEY'VE", "SHE'D", "IT'S", "YOU'RE", "don't", "i'm", "we'll", "'ſ", "x'ſt",
  "1234567890", "3.14159265358979323846264338327950288419716939937510", "١٢٣٤٥ ۱۲۳ ०१२ ๑๒๓ ① ② ½ Ⅻ",
  "e\u0301", "\u1100\u1161\u11A8", "A\u030A", "\u212B", "\u0958", "\uFB01", "\u00A0\u00A0x", "x\u00A0\u00A0",
  "a\u3000b", "a\u2028b", "a\u0085b", "a\u000Bb", "a\uFEFFb", "\uFEFF", "\u0085", "\u000B\u000B x",
  "a \u00A0b", "a\u00A0 b", " \n \n ", "\n\n\n", "\r\r\r", "\r \n", "a\r\n\r\nb", "a \r\nb", "a\t\nb",
  "  \t  x", "x  \t  ", "!!!\n\n", " !!!\r\n", "...\n", "😀\n\n", "😀😀 😀", "👨‍👩‍👧‍👦", "🇺🇸🇯🇵",
  "a".repeat(1000), "ab".repeat(600), " ".repeat(300) + "x", "\n".repeat(100), "-".repeat(500), "9".repeat(400),
  "=".repeat(257), "😀".repeat(100), "字".repeat(300), "a\u0301".repeat(200),
  "\u0000", "a\u0000b", "\u0001\u0002\u001F\u007F", "\u200B\u200C\u200D\u2060",
  "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "ﷺ ﷽", "ǅ ǈ ǋ ǲ", "ß ẞ ﬀ ﬃ", "İ ı ſ K Å", "\u0300", "\u0300\u0301 leading marks",
];

//! The corpus: FIXED, then `lines` - FIXED.length generated entries, all deterministic for a given seed.
export function generateCorpus({ lines = 6000, seed = 20240601 } = {}) {
  const rng = makeRng(seed);
  const out = [...FIXED];
  const generators = [
    () => rng.pick(ALL_SENTENCES),
    () => rng.pick(ENGLISH) + rng.pick(SPACES) + rng.pick(ENGLISH),
    () => rng.pick(CODE),
    () => rng.pick(POOLS.slice(1, 9)).join(rng.pick(SPACES)),
    () => randomMix(rng),
    () => randomMix(rng),
    () => randomMix(rng),
    () => randomCodePoints(rng, rng.int(1, 40)),
    () => Array.from({ length: rng.int(2, 8) }, () => rng.pick(ALL_SENTENCES)).join(rng.pick(["\n", "\n\n", "\r\n", " ", "\t"])),
    () => rng.pick(WORDS).toUpperCase() + rng.pick(CONTRACTIONS) + " " + rng.pick(WORDS),
    () => digits(rng, rng.int(1, 200)),
    () => rng.pick(SPECIAL) + rng.pick(ALL_SENTENCES) + rng.pick(SPECIAL),
    () => rng.pick(EMOJI) + rng.pick(SPACES).repeat(rng.int(1, 5)) + rng.pick(EMOJI),
    () => rng.pick(NON_NFC) + " " + rng.pick(WORDS),
  ];
  while (out.length < lines) out.push(rng.pick(generators)());
  return out;
}

// CLI: JSONL to stdout.
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const corpus = generateCorpus({ lines: opt("--lines", 6000), seed: opt("--seed", 20240601) });
  process.stdout.write(corpus.map((text) => JSON.stringify({ text })).join("\n") + "\n");
}
