// qembed quantize as a user meets it: GGUF or HF folder in, GGUF out. A file quantized by `qembed quantize` from a
// seeded F32 model must give exactly the vectors (and rerank scores) of the test model generated directly in that
// type from the same seed — the generator encodes the same values with the same recipe, so any difference is a
// bug in reading, naming, metadata or encoding. llama.cpp's reading of these files is in tests/oracle.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { MODEL_DIR, assertCleanError, jsonl, model, parseJsonl, qembed } from "./helpers.mjs";

const SEED = "21";
const TEXTS = ["The capital of China is Beijing.", "北京是中华人民共和国的首都。", "def add(a, b):\n    return a + b\n",
  Array.from({ length: 30 }, (_, i) => `Sentence ${i} is about topic ${i % 5}.`).join(" ")];
const generated = (type) => model(`parity-ours-${type}.gguf`, ["--shape", "tiny", "--format", "gguf", "--type", type,
  "--seed", SEED]);
const hfF32 = () => model(`q-tiny-F32-hf-${SEED}`, ["--shape", "tiny", "--format", "hf", "--type", "F32", "--seed", SEED]);

function quantize(input, type, name, extra = []) {
  const out = path.join(MODEL_DIR, name);
  fs.rmSync(out, { force: true });
  const r = qembed(["quantize", "--model", input, "--type", type, "--out", out, "--threads", "2", ...extra]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`wrote .*${name}: ${type}`));
  assert.ok(!fs.existsSync(out + ".part"), "the temporary file is renamed");
  return { out, stderr: r.stderr };
}

function embed(modelPath) {
  const r = qembed(["embed", "--model", modelPath, "--threads", "2"], jsonl(TEXTS.map((text) => ({ text }))));
  assert.equal(r.status, 0, r.stderr);
  return parseJsonl(r.stdout).map((row) => row.embedding);
}

function info(modelPath, extra = []) {
  const r = qembed(["info", "--model", modelPath, "--json", ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const type of ["Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K", "F16"]) {
  test(`GGUF F32 -> ${type}: the same vectors as the model generated in ${type}`, () => {
    const { out } = quantize(generated("F32"), type, `quantized-gguf-${type}.gguf`);
    assert.deepEqual(embed(out), embed(generated(type)));
    assert.deepEqual(info(out).tensor_types, info(generated(type)).tensor_types);
  });
}

test("HF folder (F32) -> Q4_K_M GGUF: the same vectors, the Q6_K layers of the mix, metadata from config.json", () => {
  const { out } = quantize(hfF32(), "Q4_K_M", "quantized-hf-Q4_K_M.gguf");
  assert.deepEqual(embed(out), embed(generated("Q4_K_M")));
  const i = info(out);
  assert.ok(i.tensor_types.Q6_K > 0 && i.tensor_types.Q4_K > 0, JSON.stringify(i.tensor_types));
  assert.equal(i.tensor_types.F32, 2 * 4 + 1, "norms stay F32");  // 4 norms per layer x 2 layers + output norm
  assert.equal(i.format, "gguf");
  assert.equal(i.name, `q-tiny-F32-hf-${SEED}`, "general.name is the folder's name");
  assert.equal(i.appends_eos, true);
  assert.deepEqual([i.layers, i.heads, i.kv_heads, i.head_dim], [2, 4, 2, 64]);
});

test("HF reranker folder -> Q8_0 GGUF with --reranker: rank pooling, the same scores as the generated GGUF", () => {
  const args = ["--shape", "tiny", "--reranker", "--untied-head", "--seed", "6"];
  const hf = model("q-rr-untied-F32-hf", [...args, "--format", "hf", "--type", "F32"]);
  const direct = model("q-rr-untied-Q8_0.gguf", [...args, "--format", "gguf", "--type", "Q8_0"]);
  const { out } = quantize(hf, "Q8_0", "quantized-rr-Q8_0.gguf", ["--reranker"]);
  const docs = jsonl(TEXTS.map((text) => ({ text })));
  const score = (m) => {
    const r = qembed(["rerank", "--model", m, "--query", "What is the capital of China?", "--threads", "2"], docs);
    assert.equal(r.status, 0, r.stderr);
    return parseJsonl(r.stdout).map((row) => row.score);
  };
  assert.deepEqual(score(out), score(direct));
  // The GGUF says what it is: loading it as an embedding model is the usual clear error.
  assertCleanError(assert, qembed(["embed", "--model", out], jsonl([{ text: "x" }])), /reranker/);
});

test("an already-quantized input needs --allow-requantize; a tensor of the same type is copied as it is", () => {
  const dest = path.join(MODEL_DIR, "requantized-Q4_0.gguf");
  fs.rmSync(dest, { force: true });
  const r = qembed(["quantize", "--model", generated("Q8_0"), "--type", "Q4_0", "--out", dest]);
  assertCleanError(assert, r, /already Q8_0.*--allow-requantize/);
  assert.ok(!fs.existsSync(dest) && !fs.existsSync(dest + ".part"), "nothing is left behind");
  quantize(generated("Q8_0"), "Q4_0", "requantized-Q4_0.gguf", ["--allow-requantize"]);
  const { out } = quantize(generated("Q8_0"), "Q8_0", "same-Q8_0.gguf");
  assert.deepEqual(embed(out), embed(generated("Q8_0")));
});

test("bad requests are one clear error line, exit 1, and leave no output", () => {
  const out = path.join(MODEL_DIR, "never-written.gguf");
  fs.rmSync(out, { force: true });
  const run = (args) => qembed(["quantize", ...args]);
  assertCleanError(assert, run(["--model", generated("F32"), "--type", "Q3_K", "--out", out]), /unknown type "Q3_K".*Q4_K_M/);
  assertCleanError(assert, run(["--model", generated("F32"), "--out", out]), /--type/);
  assertCleanError(assert, run(["--model", path.join(MODEL_DIR, "missing.gguf"), "--type", "Q8_0", "--out", out]),
    /missing\.gguf/);
  assertCleanError(assert, run(["--model", generated("F32"), "--type", "Q8_0", "--out", generated("F32")]),
    /overwrite the input/);
  assertCleanError(assert, run(["--model", generated("F32"), "--type", "Q8_0", "--out", out, "--reranker"]),
    /HuggingFace folder/);
  const notGguf = path.join(MODEL_DIR, "not-a-model.gguf");
  fs.writeFileSync(notGguf, "GGUF but not really");
  assertCleanError(assert, run(["--model", notGguf, "--type", "Q8_0", "--out", out]), /not-a-model\.gguf/);
  assertCleanError(assert, run(["--model", generated("F32"), "--type", "Q8_0", "--out", "/nonexistent-dir/x.gguf"]),
    /nonexistent-dir/);
  assert.ok(!fs.existsSync(out), "no output after a failed run");
});
