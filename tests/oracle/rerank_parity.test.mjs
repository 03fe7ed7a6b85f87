// Reranker scores vs llama.cpp (node-llama-cpp's ranking context) on the same GGUF files and the same token ids
// (`qembed rerank --tokens` writes them; tests/oracle/llama_rank.mjs evaluates exactly those). Thresholds are the
// issue's: |Δscore| <= 1e-3 for F32/F16, 3e-3 for Q8_0/Q4_K_M, on files written by qembed's generator and on files
// quantized by llama.cpp's own quantizer. The test model's head keeps scores away from 0 and 1 (checked), where
// agreement would prove nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BUILD, MODEL_DIR, ROOT, jsonl, model, parseJsonl, qembed } from "../cli/helpers.mjs";
import { RERANK_CORPUS } from "./rerank_corpus.mjs";

const LIBLLAMA = path.join(ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.5.0.so");
const TOLERANCE = { F32: 1e-3, F16: 1e-3, Q8_0: 3e-3, Q4_K_M: 3e-3 };

function ours(type) {
  // Untied head, as rerankers larger than 0.6B ship; tools/model_gen/model_spec.hpp says how the synthetic
  // reranker's head and attention gains keep scores mid-range and spread.
  return model(`rerank-ours-${type}.gguf`, ["--shape", "tiny", "--format", "gguf", "--type", type, "--reranker",
    "--untied-head", "--seed", "5"]);
}

function llamaQuantized(type) {
  const out = path.join(MODEL_DIR, `rerank-llama-${type}.gguf`);
  if (!fs.existsSync(out)) {
    const r = spawnSync(path.join(BUILD, "llama-quantize-shim"), [LIBLLAMA, ours("F32"), out, type], { encoding: "utf8" });
    assert.equal(r.status, 0, `llama.cpp quantize ${type}: ${r.stderr}`);
  }
  return out;
}

/** qembed's scores and token ids for every (query, document) of the corpus. */
function qembedScores(modelPath) {
  const rows = [];
  for (const { query, documents, instruction } of RERANK_CORPUS) {
    const args = ["rerank", "--model", modelPath, "--query", query, "--threads", "2", "--tokens"];
    if (instruction) args.push("--instruction", instruction);
    const r = qembed(args, jsonl(documents.map((text) => ({ text }))));
    assert.equal(r.status, 0, r.stderr);
    rows.push(...parseJsonl(r.stdout));
  }
  return rows;
}

function llamaScores(modelPath, rows) {
  const tokFile = path.join(MODEL_DIR, "rerank-parity-tokens.jsonl");
  const outFile = path.join(MODEL_DIR, "rerank-parity-llama.jsonl");
  fs.writeFileSync(tokFile, jsonl(rows.map((r) => ({ tokens: r.tokens }))));
  const r = spawnSync("node", [path.join(ROOT, "tests/oracle/llama_rank.mjs"), "--model", modelPath, "--input", tokFile,
    "--output", outFile, "--threads", "2"], { encoding: "utf8" });
  assert.equal(r.status, 0, `llama_rank: ${r.stderr}`);
  return parseJsonl(fs.readFileSync(outFile, "utf8")).map((x) => x.score);
}

function compare(label, modelPath, tolerance) {
  const mine = qembedScores(modelPath);
  const theirs = llamaScores(modelPath, mine);
  assert.equal(theirs.length, mine.length);
  let worst = 0, at = -1;
  mine.forEach((m, i) => {
    const d = Math.abs(m.score - theirs[i]);
    if (d > worst) [worst, at] = [d, i];
  });
  const scores = mine.map((m) => m.score);
  console.log(`rerank parity ${label}: max |Δscore| ${worst.toExponential(2)} (pair ${at}), scores ` +
    `${Math.min(...scores).toFixed(3)}..${Math.max(...scores).toFixed(3)}`);
  assert.ok(worst <= tolerance, `${label}: |Δscore| ${worst} > ${tolerance} at pair ${at}`);
  return scores;
}

test("the test reranker's scores are spread, not saturated (else agreement proves nothing)", () => {
  const scores = qembedScores(ours("F32")).map((r) => r.score);
  const lo = Math.min(...scores), hi = Math.max(...scores);
  assert.ok(lo > 0.02 && hi < 0.98, `scores ${lo}..${hi} are saturated`);
  // The scores must differ by far more than the tolerance, or agreement within it would say little.
  assert.ok(hi - lo > 10 * TOLERANCE.Q4_K_M, `scores ${lo}..${hi} hardly differ`);
});

for (const type of ["F32", "F16", "Q8_0", "Q4_K_M"]) {
  test(`qembed-written ${type} reranker: llama.cpp agrees within ${TOLERANCE[type]}`, () => {
    compare(`ours ${type}`, ours(type), TOLERANCE[type]);
  });
}

for (const type of ["F16", "Q8_0", "Q4_K_M"]) {
  test(`llama.cpp-quantized ${type} reranker: qembed agrees within ${TOLERANCE[type]}`, () => {
    compare(`llama ${type}`, llamaQuantized(type), TOLERANCE[type]);
  });
}
