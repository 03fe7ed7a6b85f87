#!/usr/bin/env node
// Per-query latency of llama.cpp (node-llama-cpp, CPU) on short instructed queries, one query at a time.
//
//   node tests/oracle/llama_query_latency.mjs --model M.gguf [--threads 2] [--warmup 3] [--queries F.jsonl]
//   node tests/oracle/llama_query_latency.mjs --dump-queries out.jsonl   (formatted queries, for another engine)
//
// Each query is formatted exactly as Qwen3-Embedding expects:
//   "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:{q}"
// and timed from text to embedding (tokenize + EOS + decode + pooled vector). Queries come from --queries
// ({"text"} lines, raw queries without the instruction) or the built-in list of 30 (3-15 words).
// Last stdout line: JSON {"engine","model","threads","queries","mean_tokens","p50_ms","p90_ms","mean_ms"}.
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import {
  parseArgs,
  readJsonl,
  die,
  loadModel,
  createEmbeddingContext,
  tokenizeForEmbedding,
  percentile,
} from "./llama_common.mjs";

const USAGE =
  "usage: node tests/oracle/llama_query_latency.mjs --model M.gguf [--threads 2] [--warmup 3] [--queries F.jsonl]\n" +
  "       node tests/oracle/llama_query_latency.mjs --dump-queries out.jsonl [--queries F.jsonl]";

export const DEFAULT_TASK = "Given a web search query, retrieve relevant passages that answer the query";

export const QUERIES = [
  "What is the capital of China?",
  "Explain how gravity works",
  "how do vaccines train the immune system",
  "best way to store fresh basil",
  "symptoms of vitamin D deficiency in adults",
  "who wrote the novel One Hundred Years of Solitude",
  "difference between a virus and a bacterium",
  "how long does it take to boil an egg",
  "why is the sky blue during the day but red at sunset",
  "python sort list of dictionaries by key",
  "average rainfall in Seattle per year",
  "how to fix a leaking kitchen faucet",
  "history of the printing press",
  "when did the Berlin Wall fall",
  "is coffee bad for your heart",
  "how many moons does Jupiter have",
  "recipe for gluten free banana bread without eggs or dairy",
  "what causes earthquakes along tectonic plate boundaries",
  "tips for improving sleep quality",
  "meaning of the word serendipity",
  "how do solar panels convert sunlight into electricity on cloudy days",
  "fastest land animal",
  "rules of chess castling",
  "how to calculate compound interest monthly",
  "largest desert in the world by area",
  "what is the boiling point of water at high altitude in Denver",
  "main steps of photosynthesis",
  "how to train a puppy to stop biting hands and shoes",
  "GDP of Japan 2023",
  "why do cats purr",
];

export function formatQuery(query, task = DEFAULT_TASK) {
  return `Instruct: ${task}\nQuery:${query}`;
}

async function main() {
  const args = parseArgs(
    process.argv.slice(2),
    { model: "", threads: 2, warmup: 3, queries: "", dumpQueries: "" },
    USAGE,
  );
  if (!args.model && !args.dumpQueries) die(USAGE);
  const queries = args.queries
    ? readJsonl(args.queries).map((row, i) => {
        if (typeof row.text !== "string") die(`${args.queries}: line ${i + 1} has no "text" string`);
        return row.text;
      })
    : QUERIES;
  const texts = queries.map((q) => formatQuery(q));
  if (args.dumpQueries) {
    fs.writeFileSync(args.dumpQueries, texts.map((text) => JSON.stringify({ text })).join("\n") + "\n");
    return;
  }

  const { llama, model } = await loadModel(args.model, args.threads);
  const maxTokens = Math.max(...texts.map((t) => tokenizeForEmbedding(model, t).length));
  const ctx = await createEmbeddingContext(model, maxTokens, args.threads);

  for (const text of texts.slice(0, args.warmup)) await ctx.getEmbeddingFor(tokenizeForEmbedding(model, text));

  const latencies_ms = [];
  let tokens = 0;
  for (const text of texts) {
    const t0 = performance.now();
    const ids = tokenizeForEmbedding(model, text);
    await ctx.getEmbeddingFor(ids);
    latencies_ms.push(performance.now() - t0);
    tokens += ids.length;
  }
  const sorted = [...latencies_ms].sort((a, b) => a - b);
  const mean = latencies_ms.reduce((a, b) => a + b, 0) / latencies_ms.length;
  const result = {
    engine: "llama.cpp",
    model: args.model,
    threads: args.threads,
    queries: texts.length,
    mean_tokens: Number((tokens / texts.length).toFixed(1)),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p90_ms: Number(percentile(sorted, 90).toFixed(2)),
    mean_ms: Number(mean.toFixed(2)),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((e) => die(e.stack || String(e)));
