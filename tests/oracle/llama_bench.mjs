#!/usr/bin/env node
// Document-embedding throughput of llama.cpp (node-llama-cpp, CPU), the rival in scripts/bench_vs_llamacpp.sh.
//
//   node tests/oracle/llama_bench.mjs --model M.gguf --input docs.jsonl [--threads 2] [--warmup 2] [--repeat 1]
//
// Input lines: {"text": "..."}. llama.cpp tokenizes every document first (plus the EOS Qwen3-Embedding needs);
// like `qembed bench`, the timed part excludes model loading and tokenization. Documents run one at a time,
// each in a single decode (batch >= doc length), after a warm-up on the first --warmup documents.
// node-llama-cpp cannot embed several sequences in one decode (LlamaEmbeddingContext owns one sequence and
// reads the pooled vector of sequence 0), so there is no batched mode to report.
// Last stdout line: JSON {"engine","model","threads","docs","tokens","seconds","tok_per_s","mode"}; tokens are
// llama.cpp's own counts including EOS.
import { performance } from "node:perf_hooks";
import {
  parseArgs,
  readJsonl,
  die,
  loadModel,
  createEmbeddingContext,
  tokenizeForEmbedding,
} from "./llama_common.mjs";

const USAGE =
  "usage: node tests/oracle/llama_bench.mjs --model M.gguf --input docs.jsonl [--threads 2] [--warmup 2] [--repeat 1]";

async function embedAll(ctx, sequences) {
  let tokens = 0;
  const t0 = performance.now();
  for (const ids of sequences) {
    await ctx.getEmbeddingFor(ids);
    tokens += ids.length;
  }
  return { tokens, seconds: (performance.now() - t0) / 1000 };
}

async function main() {
  const args = parseArgs(
    process.argv.slice(2),
    { model: "", input: "", threads: 2, warmup: 2, repeat: 1 },
    USAGE,
  );
  if (!args.model || !args.input) die(USAGE);
  const texts = readJsonl(args.input).map((row, i) => {
    if (typeof row.text !== "string") die(`${args.input}: line ${i + 1} has no "text" string`);
    return row.text;
  });
  if (texts.length === 0) die(`${args.input}: no documents`);

  const { llama, model } = await loadModel(args.model, args.threads);
  const sequences = texts.map((t) => tokenizeForEmbedding(model, t));
  const maxTokens = Math.max(...sequences.map((s) => s.length));
  const ctx = await createEmbeddingContext(model, maxTokens, args.threads);

  await embedAll(ctx, sequences.slice(0, args.warmup));
  let best = null;
  for (let r = 0; r < Math.max(1, args.repeat); r++) {
    const run = await embedAll(ctx, sequences);
    if (!best || run.seconds < best.seconds) best = run;
  }
  const result = {
    engine: "llama.cpp",
    model: args.model,
    threads: args.threads,
    docs: texts.length,
    tokens: best.tokens,
    seconds: Number(best.seconds.toFixed(4)),
    tok_per_s: Number((best.tokens / best.seconds).toFixed(2)),
    mode: "one-at-a-time",
  };
  process.stdout.write(JSON.stringify(result) + "\n");
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => die(e.stack || String(e)));
