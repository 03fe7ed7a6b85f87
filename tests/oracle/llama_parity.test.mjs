// Embeddings vs llama.cpp (node-llama-cpp) on the same GGUF files, for every tensor type, files written by our
// quantizer and by llama.cpp's. Both engines see exactly the same token ids (from `qembed tokenize`).
// Thresholds (min cosine over the corpus) are the issue's: F32/F16 >= 0.99999, BF16/Q8_0 >= 0.9995,
// 4-6-bit types >= 0.995.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BUILD, MODEL_DIR, ROOT, cosine, jsonl, model, parseJsonl, qembed } from "../cli/helpers.mjs";
import { PARITY_CORPUS } from "./parity_corpus.mjs";

const LIBLLAMA = path.join(ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.5.0.so");
const SHAPE = ["--shape", "tiny"];
const SEED = "21";

const THRESHOLD = { F32: 0.99999, F16: 0.99999, BF16: 0.9995, Q8_0: 0.9995 };
const threshold = (type) => THRESHOLD[type] ?? 0.995;

function ours(type) {
  return model(`parity-ours-${type}.gguf`, [...SHAPE, "--format", "gguf", "--type", type, "--seed", SEED]);
}

function llamaQuantized(type) {
  const out = path.join(MODEL_DIR, `parity-llama-${type}.gguf`);
  if (!fs.existsSync(out)) {
    const r = spawnSync(path.join(BUILD, "llama-quantize-shim"), [LIBLLAMA, ours("F32"), out, type], { encoding: "utf8" });
    assert.equal(r.status, 0, `llama.cpp quantize ${type}: ${r.stderr}`);
  }
  return out;
}

/** min cosine between qembed and llama.cpp on the corpus for one model file. */
function minCosine(modelPath) {
  const input = jsonl(PARITY_CORPUS.map((text) => ({ text })));
  const tok = qembed(["tokenize", "--model", modelPath], input);
  assert.equal(tok.status, 0, tok.stderr);
  const ids = parseJsonl(tok.stdout);
  const emb = qembed(["embed", "--model", modelPath, "--threads", "2"], input);
  assert.equal(emb.status, 0, emb.stderr);
  const mine = parseJsonl(emb.stdout);

  const tokFile = path.join(MODEL_DIR, "parity-tokens.jsonl");
  const outFile = path.join(MODEL_DIR, "parity-llama-out.jsonl");
  fs.writeFileSync(tokFile, jsonl(ids.map((r) => ({ tokens: r.tokens }))));
  const r = spawnSync("node", [path.join(ROOT, "tests/oracle/llama_embed.mjs"), "--model", modelPath, "--input", tokFile,
    "--output", outFile, "--threads", "2"], { encoding: "utf8" });
  assert.equal(r.status, 0, `llama_embed: ${r.stderr}`);
  const theirs = parseJsonl(fs.readFileSync(outFile, "utf8"));
  assert.equal(theirs.length, mine.length);
  let min = 1, worst = -1;
  mine.forEach((m, i) => {
    const c = cosine(m.embedding, theirs[i].embedding);
    if (c < min) [min, worst] = [c, i];
  });
  return { min, worst };
}

for (const type of ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M"]) {
  test(`qembed-quantized ${type}: llama.cpp reads it and agrees`, () => {
    const { min, worst } = minCosine(ours(type));
    console.log(`parity ours ${type}: min cos ${min.toFixed(7)} (input ${worst})`);
    assert.ok(min >= threshold(type), `${type}: min cos ${min} < ${threshold(type)} at input ${worst}`);
  });
}

for (const type of ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K"]) {
  test(`llama.cpp-quantized ${type}: qembed reads it and agrees`, () => {
    const { min, worst } = minCosine(llamaQuantized(type));
    const t = threshold(type.replace(/_[SM]$/, ""));
    console.log(`parity llama ${type}: min cos ${min.toFixed(7)} (input ${worst})`);
    assert.ok(min >= t, `${type}: min cos ${min} < ${t} at input ${worst}`);
  });
}

// qembed quantize (HF folder in, GGUF out): the metadata comes from config.json and tokenizer.json, not from the
// generator, so llama.cpp reads one such file itself.
test("qembed quantize, HF folder -> Q4_K_M: llama.cpp reads it and agrees", () => {
  const hf = model(`parity-hf-F32-${SEED}`, [...SHAPE, "--format", "hf", "--type", "F32", "--seed", SEED]);
  const out = path.join(MODEL_DIR, "parity-quantize-hf-Q4_K_M.gguf");
  const r = spawnSync(path.join(BUILD, "qembed"), ["quantize", "--model", hf, "--type", "Q4_K_M", "--out", out],
    { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const { min, worst } = minCosine(out);
  console.log(`parity qembed quantize HF -> Q4_K_M: min cos ${min.toFixed(7)} (input ${worst})`);
  assert.ok(min >= threshold("Q4_K"), `min cos ${min} < ${threshold("Q4_K")} at input ${worst}`);
});
