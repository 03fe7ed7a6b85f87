#!/usr/bin/env node
// Per-query latency through `qembed serve`: the same 30 short queries as tests/oracle/llama_query_latency.mjs, sent
// one at a time to /v1/embeddings with prompt_name "query" (the server formats the default Qwen3 instruction, the
// same text llama.cpp is given), after a warm-up. Prints p50/p90/mean ms; last line JSON.
//
//   node tests/server/query_latency.mjs --model M.gguf [--threads 2] [--warmup 3]
import { QUERIES } from "../oracle/llama_query_latency.mjs";
import { startServer } from "./server_helpers.mjs";

const opts = { model: "", threads: 2, warmup: 3 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opts)) throw new Error(`unknown option ${process.argv[i]}`);
  opts[key] = typeof opts[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opts.model) throw new Error("usage: --model M.gguf [--threads 2] [--warmup 3]");

const server = await startServer(["--threads", String(opts.threads)], { model: opts.model });
async function embedQuery(q) {
  const res = await fetch(`${server.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: q, prompt_name: "query" }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body.usage.prompt_tokens;
}

try {
  for (let i = 0; i < opts.warmup; i++) await embedQuery(QUERIES[i % QUERIES.length]);
  const ms = [];
  let tokens = 0;
  for (const q of QUERIES) {
    const t0 = performance.now();
    tokens += await embedQuery(q);
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const result = {
    queries: ms.length,
    mean_tokens: +(tokens / ms.length).toFixed(1),
    p50_ms: +pct(0.5).toFixed(1),
    p90_ms: +pct(0.9).toFixed(1),
    mean_ms: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(1),
  };
  console.error(`qembed serve: p50 ${result.p50_ms} ms, p90 ${result.p90_ms} ms over ${result.queries} queries`);
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
}
