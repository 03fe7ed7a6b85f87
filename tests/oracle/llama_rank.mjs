#!/usr/bin/env node
// llama.cpp as a reranking oracle: scores every line of a JSONL file of token ids with node-llama-cpp's ranking
// context (CPU) on a Qwen3-Reranker GGUF (pooling type rank, cls.output.weight).
//
//   node tests/oracle/llama_rank.mjs --model R.gguf --input tokens.jsonl --output out.jsonl [--threads 2]
//
// Each input line is {"tokens":[ids...]}: the whole rerank prompt (template, instruction, query, document) as
// `qembed rerank --tokens` writes it. llama.cpp evaluates exactly those ids — the ranking context's own template
// path is bypassed on purpose, so both engines see the same sequence — and returns softmax([yes, no])[0] at the
// last position (llama.cpp's rank pooling for qwen3). Output lines: {"index", "n_tokens", "score"}. Stdout: one
// JSON line {"documents", "tokens", "seconds", "docs_per_s"} timing the scoring only (not the model load).
import fs from "node:fs";
import { parseArgs, readJsonl, die, loadModel } from "./llama_common.mjs";

const USAGE = "usage: node tests/oracle/llama_rank.mjs --model R.gguf --input tokens.jsonl --output out.jsonl [--threads 2]";

async function main() {
  const args = parseArgs(process.argv.slice(2), { model: "", input: "", output: "", threads: 2 }, USAGE);
  if (!args.model || !args.input || !args.output) die(USAGE);
  const rows = readJsonl(args.input);
  const sequences = rows.map((row, i) => {
    if (!Array.isArray(row.tokens) || row.tokens.length === 0 || !row.tokens.every(Number.isInteger))
      die(`${args.input}: line ${i + 1} has no non-empty integer "tokens" array`);
    return row.tokens;
  });
  const { llama, model } = await loadModel(args.model, args.threads);
  const longest = Math.max(1, ...sequences.map((s) => s.length));
  // One decode per document, as qembed's batches compute each document whole.
  const size = Math.max(64, Math.ceil((longest + 1) / 64) * 64);
  const ctx = await model.createRankingContext({ contextSize: size, batchSize: size, threads: args.threads });
  if (typeof ctx._evaluateRankingForInput !== "function")
    die("this node-llama-cpp has no LlamaRankingContext._evaluateRankingForInput (needed to pass token ids)");
  const scores = [];
  const t0 = process.hrtime.bigint();
  for (const seq of sequences) scores.push(await ctx._evaluateRankingForInput(seq));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = fs.openSync(args.output, "w");
  scores.forEach((score, i) => {
    fs.writeSync(out, JSON.stringify({ index: i, n_tokens: sequences[i].length, score }) + "\n");
  });
  fs.closeSync(out);
  const tokens = sequences.reduce((n, s) => n + s.length, 0);
  process.stdout.write(JSON.stringify({ documents: sequences.length, tokens, seconds,
    docs_per_s: sequences.length / seconds }) + "\n");
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => die(e.stack ?? String(e)));
