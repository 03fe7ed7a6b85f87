// qembed rerank: scores as a user meets them on the command line — GGUF and HF twins, batch invariance, prefix
// reuse, truncation of the document's end (never the query), ordering flags and every error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonl, model, parseJsonl, qembed, tinyGguf } from "./helpers.mjs";

const QUERY = "What is the capital of China?";
const DOCS = [
  "The capital of China is Beijing.",
  "Gravity is a force that attracts two bodies towards each other.",
  "北京是中华人民共和国的首都。",
  "def add(a, b):\n    return a + b\n",
  Array.from({ length: 40 }, (_, i) => `Sentence ${i} is about topic ${i % 5}.`).join(" "),
];
const gguf = () => model("rr-tiny-F32.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--reranker",
  "--seed", "5"]);
const hf = () => model("rr-tiny-F32-hf", ["--shape", "tiny", "--format", "hf", "--type", "F32", "--reranker",
  "--seed", "5"]);
const untiedGguf = () => model("rr-tiny-untied-F16.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F16",
  "--reranker", "--untied-head", "--seed", "6"]);
const untiedHf = () => model("rr-tiny-untied-F16-hf", ["--shape", "tiny", "--format", "hf", "--type", "F16",
  "--reranker", "--untied-head", "--seed", "6"]);

function rerank(modelPath, docs, extra = [], query = QUERY) {
  const r = qembed(["rerank", "--model", modelPath, "--query", query, "--threads", "2", ...extra],
    jsonl(docs.map((text, i) => ({ text, id: `d${i}` }))));
  return { ...r, rows: r.status === 0 ? parseJsonl(r.stdout) : [] };
}

test("scores are sigmoid(logit) in [0, 1], one line per document in input order with carried fields", () => {
  const r = rerank(gguf(), DOCS);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.rows.length, DOCS.length);
  r.rows.forEach((row, i) => {
    assert.equal(row.index, i);
    assert.equal(row.id, `d${i}`);
    assert.ok(row.score > 0 && row.score < 1);
    assert.ok(Math.abs(row.score - 1 / (1 + Math.exp(-row.logit))) < 1e-12);
    assert.ok(row.n_tokens > 40);
    assert.equal(row.text, undefined, "the document text is not echoed");
  });
  assert.ok(new Set(r.rows.map((x) => x.score)).size > 1, "documents get different scores");
});

test("GGUF and HF twins give the same scores (tied and untied heads)", () => {
  const scores = (m) => {
    const r = rerank(m, DOCS);
    assert.equal(r.status, 0, r.stderr);
    return r.rows.map((x) => x.score);
  };
  // F32: the same values in both files, the same bits out.
  assert.deepEqual(scores(hf()), scores(gguf()));
  // F16: the HF folder holds its norm weights in F16 too, the GGUF in F32 (as llama.cpp's converter writes them),
  // so the twins differ by the norms' rounding: within the F16 parity tolerance.
  const a = scores(untiedGguf()), b = scores(untiedHf());
  a.forEach((s, i) => assert.ok(Math.abs(s - b[i]) <= 1e-3, `document ${i}: ${s} vs ${b[i]}`));
});

test("batch invariance and prefix reuse never change a score", () => {
  const together = rerank(gguf(), DOCS);
  assert.equal(together.status, 0, together.stderr);
  assert.match(together.stderr, /prompt cache: [1-9]\d* of 5 documents started from the cached query prompt/);
  const noCache = rerank(gguf(), DOCS, ["--prefix-cache-mb", "0"]);
  const smallBatches = rerank(gguf(), DOCS, ["--max-batch-tokens", "64"]);
  const alone = DOCS.map((d) => rerank(gguf(), [d]).rows[0].score);
  const want = together.rows.map((r) => r.score);
  assert.deepEqual(noCache.rows.map((r) => r.score), want);
  assert.deepEqual(smallBatches.rows.map((r) => r.score), want);
  assert.deepEqual(alone, want);
});

test("--sort and --top-n write the best documents first", () => {
  const all = rerank(gguf(), DOCS).rows;
  const best = [...all].sort((a, b) => b.score - a.score);
  const sorted = rerank(gguf(), DOCS, ["--sort"]).rows;
  assert.deepEqual(sorted.map((r) => r.index), best.map((r) => r.index));
  const top = rerank(gguf(), DOCS, ["--top-n", "2"]).rows;
  assert.deepEqual(top.map((r) => r.index), best.slice(0, 2).map((r) => r.index));
});

test("a long document loses its end, never the query; --no-truncate makes it an error", () => {
  const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
  const cut = rerank(gguf(), [long, "short one"], ["--max-tokens", "120", "--tokens"]);
  assert.equal(cut.status, 0, cut.stderr);
  assert.equal(cut.rows[0].truncated, true);
  assert.equal(cut.rows[0].n_tokens, 120);
  assert.equal(cut.rows[1].truncated, undefined);
  // The template's end survives: the last tokens are the assistant turn's opening, the same for both documents.
  // (9 tokens: <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n)
  assert.deepEqual(cut.rows[0].tokens.slice(-9), cut.rows[1].tokens.slice(-9));
  assert.notEqual(cut.rows[0].tokens.at(-10), cut.rows[1].tokens.at(-10));
  const strict = rerank(gguf(), [long], ["--max-tokens", "120", "--no-truncate"]);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /document 0 has \d+ tokens with the query and template, the limit is 120/);
  const noRoom = rerank(gguf(), ["doc"], ["--max-tokens", "60"], "a very long query ".repeat(20));
  assert.equal(noRoom.status, 1);
  assert.match(noRoom.stderr, /the query and instruction take \d+ tokens with the template; the limit of 60 leaves no room/);
});

test("errors: empty query or document, wrong model role, no documents", () => {
  const emptyDoc = rerank(gguf(), ["fine", ""]);
  assert.equal(emptyDoc.status, 1);
  assert.match(emptyDoc.stderr, /document 1 is an empty string/);
  const emptyQuery = rerank(gguf(), ["fine"], [], "");
  assert.equal(emptyQuery.status, 1);
  assert.match(emptyQuery.stderr, /--query is empty/);
  const embedder = rerank(tinyGguf(), ["fine"]);
  assert.equal(embedder.status, 1);
  assert.match(embedder.stderr, /not a reranker/);
  const embedWithReranker = qembed(["embed", "--model", gguf()], jsonl([{ text: "x" }]));
  assert.equal(embedWithReranker.status, 1);
  assert.match(embedWithReranker.stderr, /is a reranker/);
  // Mid-stream: with one document per group (the template alone is ~60 tokens), the five before the bad one are
  // scored and written first.
  const midway = rerank(gguf(), [...DOCS, ""], ["--max-batch-tokens", "64"]);
  assert.equal(midway.status, 1);
  assert.match(midway.stderr, /document 5 is an empty string/);
  assert.deepEqual(parseJsonl(midway.stdout).map((r) => r.id), ["d0", "d1", "d2", "d3", "d4"]);
  const none = rerank(gguf(), []);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stdout, "");
  assert.equal(embedWithReranker.signal, null);
});
