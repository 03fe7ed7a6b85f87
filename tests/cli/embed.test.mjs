// `qembed embed` / `tokenize` / `info` / `bench` as a user runs them.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { cosine, jsonl, model, norm, parseJsonl, qembed, tinyGguf } from "./helpers.mjs";

const TEXTS = [
  { text: "What is the capital of China?", id: "q1" },
  { text: "The capital of China is Beijing." },
  { text: "Gravity is a force that attracts two bodies towards each other." },
  { text: "重力是一种吸引力。" },
];

test("embed writes one normalized vector per input, in order, with carried fields", () => {
  const r = qembed(["embed", "--model", tinyGguf(), "--threads", "2"], jsonl(TEXTS));
  assert.equal(r.status, 0, r.stderr);
  const out = parseJsonl(r.stdout);
  assert.equal(out.length, TEXTS.length);
  out.forEach((o, i) => {
    assert.equal(o.index, i);
    assert.equal(o.embedding.length, 256);
    assert.ok(Math.abs(norm(o.embedding) - 1) < 1e-5);
  });
  assert.equal(out[0].id, "q1");
  assert.equal(out[0].text, undefined, "text is not echoed back");
});

test("n_tokens counts the appended EOS and matches tokenize", () => {
  const m = tinyGguf();
  const e = parseJsonl(qembed(["embed", "--model", m], jsonl(TEXTS)).stdout);
  const t = parseJsonl(qembed(["tokenize", "--model", m], jsonl(TEXTS)).stdout);
  t.forEach((row, i) => {
    assert.equal(row.tokens.at(-1), 151643, "ends in <|endoftext|>");
    assert.notEqual(row.tokens.at(-2), 151643, "EOS appended once");
    assert.equal(e[i].n_tokens, row.tokens.length);
  });
});

test("dimensions keeps the first D components, then normalizes", () => {
  const m = tinyGguf();
  const raw = parseJsonl(qembed(["embed", "--model", m, "--no-normalize"], jsonl(TEXTS)).stdout);
  const d64 = parseJsonl(qembed(["embed", "--model", m, "--dimensions", "64"], jsonl(TEXTS)).stdout);
  raw.forEach((o, i) => {
    assert.ok(Math.abs(norm(o.embedding) - 1) > 1e-3, "raw vector is not normalized");
    assert.equal(d64[i].embedding.length, 64);
    assert.ok(cosine(o.embedding.slice(0, 64), d64[i].embedding) > 0.99999);
    assert.ok(Math.abs(norm(d64[i].embedding) - 1) < 1e-5);
  });
  for (const bad of ["16", "257", "0", "abc"]) {
    const r = qembed(["embed", "--model", m, "--dimensions", bad], jsonl(TEXTS));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /dimensions/);
  }
  assert.match(qembed(["embed", "--model", m, "--dimensions", "16"], jsonl(TEXTS)).stderr, /32 to 256/);
});

test("query prompts use the exact Qwen3 format", () => {
  const m = tinyGguf();
  const q = "Explain gravity";
  const viaFlag = parseJsonl(qembed(["tokenize", "--model", m, "--prompt-name", "query"], jsonl([{ text: q }])).stdout)[0];
  const manual = parseJsonl(
    qembed(["tokenize", "--model", m], jsonl([{
      text: `Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:${q}`,
    }])).stdout,
  )[0];
  assert.deepEqual(viaFlag.tokens, manual.tokens);
  const custom = parseJsonl(qembed(["tokenize", "--model", m, "--instruction", "Retrieve semantically similar text"], jsonl([{ text: q }])).stdout)[0];
  const customManual = parseJsonl(qembed(["tokenize", "--model", m], jsonl([{ text: `Instruct: Retrieve semantically similar text\nQuery:${q}` }])).stdout)[0];
  assert.deepEqual(custom.tokens, customManual.tokens);
  const doc = parseJsonl(qembed(["tokenize", "--model", m, "--prompt-name", "document"], jsonl([{ text: q }])).stdout)[0];
  const plain = parseJsonl(qembed(["tokenize", "--model", m], jsonl([{ text: q }])).stdout)[0];
  assert.deepEqual(doc.tokens, plain.tokens);
  const r = qembed(["embed", "--model", m, "--prompt-name", "passage"], jsonl([{ text: q }]));
  assert.match(r.stderr, /unknown prompt name "passage"/);
});

test("query prompts start from the cached prompt and embed as if computed in full", () => {
  const m = tinyGguf();
  // "x" and "The" merge with the colon of "Query:", the others do not: both kinds must reuse the prompt.
  const queries = ["what is the capital of China?", "x", "The sky is blue", " spaced", "42 answers"].map((text) => ({ text }));
  const cached = qembed(["embed", "--model", m, "--threads", "2", "--prompt-name", "query"], jsonl(queries));
  assert.equal(cached.status, 0, cached.stderr);
  assert.match(cached.stderr, /prompt cache: 5 of 5 inputs started from the cached prompt/);
  const full = qembed(["embed", "--model", m, "--threads", "2", "--prompt-name", "query", "--prefix-cache-mb", "0"],
                      jsonl(queries));
  assert.equal(full.status, 0, full.stderr);
  assert.match(full.stderr, /prompt cache: 0 of 5 inputs/);
  const a = parseJsonl(cached.stdout), b = parseJsonl(full.stdout);
  assert.equal(a.length, 5);
  for (let i = 0; i < 5; i++) assert.ok(cosine(a[i].embedding, b[i].embedding) >= 0.99999, `query ${i}`);
});

test("over-context input is an error naming the input and both counts, unless --truncate", () => {
  const m = model("tiny-ctx64.gguf", ["--shape", "custom", "--layers", "2", "--hidden", "256", "--heads", "4", "--kv-heads", "2", "--head-dim", "64", "--ffn", "512", "--ctx", "64", "--format", "gguf", "--type", "F32", "--seed", "7"]);
  const long = { text: "word ".repeat(200) };
  const r = qembed(["embed", "--model", m], jsonl([{ text: "short" }, long]));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /input 1 has 202 tokens, the limit is 64 \(use --truncate to keep the first 64\)/);
  const t = qembed(["embed", "--model", m, "--truncate"], jsonl([long]));
  assert.equal(t.status, 0, t.stderr);
  assert.equal(parseJsonl(t.stdout)[0].n_tokens, 64);
  const tok = parseJsonl(qembed(["tokenize", "--model", m, "--truncate"], jsonl([long])).stdout)[0];
  assert.equal(tok.tokens.length, 64);
  assert.equal(tok.tokens.at(-1), 151643, "truncated input still ends in EOS");
});

test("files in and out, and a batch budget smaller than the input set, keep order and values", (t) => {
  const m = tinyGguf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-cli-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const many = Array.from({ length: 40 }, (_, i) => ({ text: `document number ${i} ` + "lorem ipsum ".repeat(i % 7) }));
  fs.writeFileSync(path.join(dir, "in.jsonl"), jsonl(many));
  const a = qembed(["embed", "--model", m, "--input", path.join(dir, "in.jsonl"), "--output", path.join(dir, "out.jsonl"), "--max-batch-tokens", "64"]);
  assert.equal(a.status, 0, a.stderr);
  const small = parseJsonl(fs.readFileSync(path.join(dir, "out.jsonl"), "utf8"));
  const big = parseJsonl(qembed(["embed", "--model", m, "--batch-tokens", "100000"], jsonl(many)).stdout);
  assert.equal(small.length, 40);
  small.forEach((o, i) => {
    assert.equal(o.index, i);
    assert.ok(cosine(o.embedding, big[i].embedding) > 0.99999, `input ${i} differs across batch sizes`);
  });
});

test("info describes the model", () => {
  const r = qembed(["info", "--model", tinyGguf(), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.architecture, "qwen3");
  assert.equal(info.embedding_dims, 256);
  assert.equal(info.layers, 2);
  assert.equal(info.vocab_size, 151669);
  assert.equal(info.context_length, 4096);
  assert.equal(info.id, "tiny-F32", "the served id: the file name without its extension");
  assert.match(info.numeric_path, /^cpu\/(scalar|avx2|avx512|avx512vnni)$/);
  assert.equal(info.simd, info.numeric_path.slice(4));
  assert.ok(Number.isInteger(info.repacked_bytes) && info.repacked_bytes >= 0);
  assert.match(info.fingerprint, /^[0-9a-f]{16}$/);
  assert.ok(info.tensor_types.F32 > 0);
  assert.ok(info.file_bytes > 0);
  const text = qembed(["info", "--model", tinyGguf()]);
  assert.match(text.stdout, /embedding_dims\s+256/);
});

test("bench prints a JSON summary as its last line", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-bench-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "docs.jsonl"), jsonl(TEXTS));
  const r = qembed(["bench", "--model", tinyGguf(), "--input", path.join(dir, "docs.jsonl"), "--threads", "2"]);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1));
  assert.equal(last.docs, 4);
  assert.ok(last.tokens > 10);
  assert.ok(last.tok_per_s > 0 && last.seconds > 0);
});

test("HF folders (single, sharded, without model. prefix) embed like the GGUF of the same seed", () => {
  const g = tinyGguf();
  const variants = [
    model("tiny-hf-F32", ["--shape", "tiny", "--format", "hf", "--type", "F32", "--seed", "7"]),
    model("tiny-hf-sharded", ["--shape", "tiny", "--format", "hf", "--type", "F32", "--seed", "7", "--shards", "3"]),
    model("tiny-hf-noprefix", ["--shape", "tiny", "--format", "hf", "--type", "F32", "--seed", "7", "--no-model-prefix"]),
  ];
  const ref = parseJsonl(qembed(["embed", "--model", g], jsonl(TEXTS)).stdout);
  for (const v of variants) {
    const r = qembed(["embed", "--model", v], jsonl(TEXTS));
    assert.equal(r.status, 0, `${v}: ${r.stderr}`);
    parseJsonl(r.stdout).forEach((o, i) => assert.ok(cosine(o.embedding, ref[i].embedding) > 0.999999, v));
  }
  const bf16 = model("tiny-hf-BF16", ["--shape", "tiny", "--format", "hf", "--type", "BF16", "--seed", "7"]);
  parseJsonl(qembed(["embed", "--model", bf16], jsonl(TEXTS)).stdout).forEach((o, i) =>
    assert.ok(cosine(o.embedding, ref[i].embedding) > 0.999, "BF16 folder close to F32"));
});

test("a GGUF without add_eos_token still gets exactly one EOS", () => {
  const m = model("tiny-noeos.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--seed", "7", "--no-eos-flag"]);
  const t = parseJsonl(qembed(["tokenize", "--model", m], jsonl([{ text: "hello" }])).stdout)[0];
  assert.equal(t.tokens.at(-1), 151643);
  assert.notEqual(t.tokens.at(-2), 151643);
});
