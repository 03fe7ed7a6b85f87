#!/usr/bin/env node
// Query latency under bulk load (issue: "a search query never waits behind bulk embedding"). One run, four
// phases on one server:
//   1. warm-up;
//   2. idle: short instructed queries one at a time (the idle p50);
//   3. documents only: C clients, each streaming ~220-token documents (a request of D documents, the next as soon
//      as it is answered) for S seconds: the documents-only rate;
//   4. mixed: the same C clients plus one user sending short queries one at a time (pausing --think-ms between a
//      result and the next query, as a person reading results does) for S seconds.
// Targets: mixed query p50 <= 2x and p99 <= 4x the idle p50; mixed document rate >= 0.9x the documents-only rate.
// The document-rate ratio is taken from what the server computed for the documents in each window (qembed: the bulk
// class's work from /metrics, counted every step), since a batch finishes several documents at once and round-robin
// across requests of several documents finishes them together, late in a short window; the documents answered to
// the clients in each window are printed too (and are the ratio's only source with --url).
//
//   node tests/server/load_latency.mjs --model M.gguf [--threads 2] [--seconds 30] [--clients 8]
//        [--docs-per-request 1] [--think-ms 1000] [--idle-queries 20] [--docs F.jsonl] [--server-args "..."]
//   node tests/server/load_latency.mjs --url http://127.0.0.1:PORT [...]   (a server already running, e.g.
//        llama-server --embeddings --pooling last: queries are sent with the instruction written out)
// Last stdout line: JSON with every figure and whether each target was met.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_TASK, QUERIES } from "../oracle/llama_query_latency.mjs";
import { startServer } from "./server_helpers.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const opts = {
  model: "",
  url: "",
  threads: 2,
  seconds: 30,
  clients: 8,
  "docs-per-request": 1,
  "think-ms": 1000,
  "idle-queries": 20,
  docs: path.join(ROOT, "models/bench/docs-24-seed42.jsonl"),
  "server-args": "",
  label: "",
};
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opts)) throw new Error(`unknown option ${process.argv[i]}`);
  opts[key] = typeof opts[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opts.model && !opts.url) throw new Error("usage: --model M.gguf | --url URL (see the header of this file)");

const docs = fs
  .readFileSync(opts.docs, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l).text);
if (docs.length === 0) throw new Error(`no documents in ${opts.docs}`);

let server = null;
let base = opts.url.replace(/\/$/, "");
if (!base) {
  const extra = opts["server-args"].split(/\s+/).filter(Boolean);
  server = await startServer(["--threads", String(opts.threads), ...extra], { model: opts.model });
  base = server.url;
}
// qembed formats the instruction itself (prompt_name "query"); another server gets the formatted text.
const queryBody = (q) =>
  opts.url ? { input: `Instruct: ${DEFAULT_TASK}\nQuery:${q}` } : { input: q, prompt_name: "query" };

async function embed(body) {
  const res = await fetch(`${base}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

/** Work the server has computed for bulk requests (qembed's /metrics), or NaN for a server without it. */
async function bulkWork() {
  if (opts.url) return NaN;
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(/^qembed_bulk_work_total (\S+)$/m);
  return m ? Number(m[1]) : NaN;
}

/** C clients streaming documents until `until`; resolves to documents answered before `until`. */
async function docClients(until) {
  let done = 0;
  let next = 0;
  const client = async () => {
    while (performance.now() < until) {
      const batch = Array.from({ length: opts["docs-per-request"] }, () => docs[next++ % docs.length]);
      await embed({ input: batch });
      if (performance.now() <= until) done += batch.length;
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, client));
  return done;
}

/** One user: a query, wait for it, think, repeat until `until`; resolves to the latencies (ms). */
async function queryUser(until, thinkMs) {
  const ms = [];
  for (let i = 0; performance.now() < until; i++) {
    const t0 = performance.now();
    await embed(queryBody(QUERIES[i % QUERIES.length]));
    ms.push(performance.now() - t0);
    if (thinkMs > 0) await sleep(thinkMs);
  }
  return ms;
}

const round = (x, d = 1) => +x.toFixed(d);
try {
  // 1. Warm-up: caches the query prompt, touches every weight page, measures the rate.
  for (let i = 0; i < 3; i++) await embed(queryBody(QUERIES[i]));
  await embed({ input: docs.slice(0, 2) });

  // 2. Idle.
  const idle = [];
  for (let i = 0; i < opts["idle-queries"]; i++) {
    const t0 = performance.now();
    await embed(queryBody(QUERIES[(i + 3) % QUERIES.length]));
    idle.push(performance.now() - t0);
  }
  const idleP50 = pct(idle, 0.5);
  console.error(`idle: query p50 ${idleP50.toFixed(1)} ms over ${idle.length} queries`);

  // 3. Documents only. The server's count is read at the end of the window, before the clients' last requests
  // (still running) are awaited.
  let t = performance.now();
  let work0 = await bulkWork();
  let work1 = NaN;
  let until = t + opts.seconds * 1000;
  const windowEnd = () => sleep(until - performance.now()).then(async () => (work1 = await bulkWork()));
  const [answeredOnly] = await Promise.all([docClients(until), windowEnd()]);
  const docsOnlyAnswered = answeredOnly / opts.seconds;
  const workOnly = (work1 - work0) / opts.seconds;  // token-equivalents per second for the documents
  console.error(`documents only: ${docsOnlyAnswered.toFixed(2)} docs/s answered, ${workOnly.toFixed(1)} work/s`);

  // 4. Mixed.
  t = performance.now();
  until = t + opts.seconds * 1000;
  work0 = await bulkWork();
  const [answeredMixed, loaded] = await Promise.all([
    docClients(until),
    queryUser(until, opts["think-ms"]),
    windowEnd(),
  ]);
  const mixedAnswered = answeredMixed / opts.seconds;
  const workMixed = (work1 - work0) / opts.seconds;
  const docsRatio = Number.isNaN(workOnly) ? mixedAnswered / docsOnlyAnswered : workMixed / workOnly;
  const p50 = pct(loaded, 0.5),
    p99 = pct(loaded, 0.99);
  console.error(
    `mixed: query p50 ${p50.toFixed(1)} ms (${(p50 / idleP50).toFixed(2)}x idle), p99 ${p99.toFixed(1)} ms ` +
      `(${(p99 / idleP50).toFixed(2)}x) over ${loaded.length} queries; documents ${mixedAnswered.toFixed(2)} docs/s ` +
      `answered, ${workMixed.toFixed(1)} work/s (${docsRatio.toFixed(3)}x documents only)`,
  );
  const result = {
    bench: "load_latency",
    server: opts.label || (opts.url ? opts.url : "qembed"),
    clients: opts.clients,
    docs_per_request: opts["docs-per-request"],
    seconds: opts.seconds,
    think_ms: opts["think-ms"],
    idle_p50_ms: round(idleP50),
    loaded_queries: loaded.length,
    loaded_p50_ms: round(p50),
    loaded_p99_ms: round(p99),
    p50_ratio: round(p50 / idleP50, 2),
    p99_ratio: round(p99 / idleP50, 2),
    docs_only_per_s: round(docsOnlyAnswered, 3),
    mixed_docs_per_s: round(mixedAnswered, 3),
    docs_only_work_per_s: round(workOnly, 1),
    mixed_work_per_s: round(workMixed, 1),
    docs_ratio: round(docsRatio, 3),
  };
  result.targets_met = result.p50_ratio <= 2 && result.p99_ratio <= 4 && result.docs_ratio >= 0.9;
  console.log(JSON.stringify(result));
} finally {
  if (server) await server.stop();
}
