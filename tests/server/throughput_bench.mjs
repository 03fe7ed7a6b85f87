#!/usr/bin/env node
// Served throughput: N concurrent keep-alive clients, each sending one document per request to /v1/embeddings for
// a fixed time after a warm-up round. Prints, as its last line, JSON {"clients","requests","tokens","seconds",
// "tok_per_s"}; tokens are the server's own usage.prompt_tokens (EOS included), like `qembed bench` counts them.
//
//   node tests/server/throughput_bench.mjs --model M.gguf --docs docs.jsonl [--clients 8] [--seconds 60] [--threads 2]
import fs from "node:fs";
import { startServer } from "./server_helpers.mjs";

const opts = { model: "", docs: "", clients: 8, seconds: 60, threads: 2 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opts)) throw new Error(`unknown option ${process.argv[i]}`);
  opts[key] = typeof opts[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opts.model || !opts.docs) throw new Error("usage: --model M --docs FILE [--clients 8] [--seconds 60]");
const docs = fs.readFileSync(opts.docs, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).text);

const server = await startServer(["--threads", String(opts.threads)], { model: opts.model });
async function embed(text) {
  const res = await fetch(`${server.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: text, encoding_format: "base64" }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body.usage.prompt_tokens;
}

try {
  // Warm-up: one request per client, not timed (touches every weight page, sizes the scratch buffers).
  await Promise.all(Array.from({ length: opts.clients }, (_, c) => embed(docs[c % docs.length])));
  let tokens = 0, requests = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, c) => {
      for (let i = c; performance.now() < deadline; i += opts.clients) {
        const n = await embed(docs[i % docs.length]);  // not `tokens += await ...`: that reads tokens before awaiting
        tokens += n;
        requests++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const result = { clients: opts.clients, requests, tokens, seconds: +seconds.toFixed(3), tok_per_s: +(tokens / seconds).toFixed(2) };
  console.error(`served: ${requests} requests, ${tokens} tokens in ${seconds.toFixed(1)} s = ${result.tok_per_s} tok/s`);
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
}
