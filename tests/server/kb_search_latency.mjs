#!/usr/bin/env node
// Knowledge-base search latency while a large ingestion runs (issue: "interactive embedding and search requests are
// not starved: p50 query latency during a large ingestion <= 2x idle"). One server with --kb, three phases:
//   1. a small collection is ingested and warmed up;
//   2. idle: hybrid searches one at a time (the idle p50);
//   3. ingestion: a large upload (--docs documents of ~--words words, JSON text) is accepted, and while its job runs
//      the same searches go on, one at a time with --think-ms between them (a person reading results).
// Also prints the ingestion rate with and without the searches (tokens from the job, time from its progress).
// --store postgresql runs the same against a throwaway PostgreSQL 15 (fsync on, as in production) instead of a
// SQLite file: a replica's figures for docs/scaling.md.
//
//   node tests/server/kb_search_latency.mjs --model M.gguf [--threads 2] [--docs 300] [--words 250]
//        [--think-ms 500] [--idle-queries 20] [--store sqlite|postgresql]
// Last stdout line: JSON with every figure and whether the target (p50 ratio <= 2) was met.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { get, post, sleep, startServer } from "./server_helpers.mjs";
import { Postgres } from "./backing_services.mjs";

const opts = { model: "", threads: 2, docs: 300, words: 250, "think-ms": 500, "idle-queries": 20, store: "sqlite" };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opts)) throw new Error(`unknown flag --${key}`);
  opts[key] = typeof opts[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opts.model) throw new Error("--model is required");
if (!["sqlite", "postgresql"].includes(opts.store)) throw new Error(`--store is sqlite or postgresql, got ${opts.store}`);

const QUERIES = [
  "what does the contract say about liability for breach",
  "when are invoices payable",
  "how do I start the engine",
  "termination rights of either party",
  "maintenance intervals recommended by the manufacturer",
  "who owns confidential information",
  "quarterly results in the northern region",
  "data retention policy",
];

let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const WORDS = ("supplier customer engine invoice payment liability breach warranty delivery schedule quarter region " +
  "policy retention termination notice party agreement annex maintenance interval manufacturer safety procedure " +
  "report revenue growth market board division plan review service level data information confidential").split(" ");
function documentText(i) {
  const parts = [`# Document ${i}`];
  let n = 0;
  while (n < opts.words) {
    const sentence = [];
    for (let w = 0; w < 12; w++) sentence.push(WORDS[Math.floor(random() * WORDS.length)]);
    parts.push(sentence.join(" ") + ".");
    n += 12;
  }
  return parts.join("\n\n");
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kb-latency-"));
let pg = null;
if (opts.store === "postgresql") {
  pg = new Postgres({ fsync: true });
  pg.init();
}
const kb = pg ? pg.url() : path.join(dbDir, "kb.db");
const server = await startServer(["--kb", kb, "--threads", String(opts.threads)],
  { model: opts.model, env: pg ? { QEMBED_KB_INDEX_DIR: dbDir } : {} });
try {
  const base = `${server.url}/v1/kb/collections`;
  let r = await post(base, { name: "bench" });
  if (r.status !== 201 && r.status !== 200) throw new Error(`create: ${r.status} ${r.text}`);
  const small = [];
  for (let i = 0; i < 10; i++) small.push({ name: `small${i}.md`, text: documentText(100000 + i) });
  r = await post(`${base}/bench/documents?wait=true`, { documents: small });
  if (r.status !== 200) throw new Error(`small upload: ${r.status} ${r.text}`);

  async function searchOnce(q) {
    const t0 = performance.now();
    const res = await post(`${base}/bench/search`, { query: q, mode: "hybrid", top_k: 10 });
    if (res.status !== 200) throw new Error(`search: ${res.status} ${res.text}`);
    return performance.now() - t0;
  }
  for (const q of QUERIES) await searchOnce(q); // warm-up
  const idle = [];
  for (let i = 0; i < opts["idle-queries"]; i++) {
    idle.push(await searchOnce(QUERIES[i % QUERIES.length]));
    await sleep(opts["think-ms"] / 4);
  }

  const big = [];
  for (let i = 0; i < opts.docs; i++) big.push({ name: `doc${i}.md`, text: documentText(i) });
  const t_upload = performance.now();
  // At most 100 documents per upload (the server's --max-upload-files default): several jobs, followed together.
  const jobIds = [];
  for (let i = 0; i < big.length; i += 100) {
    r = await post(`${base}/bench/documents`, { documents: big.slice(i, i + 100) });
    if (r.status !== 202 && r.status !== 200) throw new Error(`upload: ${r.status} ${r.text}`);
    jobIds.push(r.body.job.id);
  }
  const during = [];
  let jobs = [];
  const allDone = () => jobs.length === jobIds.length && jobs.every((j) => j.state === "done");
  for (let i = 0; !allDone(); i++) {
    during.push(await searchOnce(QUERIES[i % QUERIES.length]));
    await sleep(opts["think-ms"]);
    jobs = await Promise.all(jobIds.map(async (id) => (await get(`${server.url}/v1/kb/jobs/${id}`)).body));
  }
  const job = { tokens: jobs.reduce((s, j) => s + j.tokens, 0) };
  const ingest_s = (performance.now() - t_upload) / 1000;
  if (during.length < 5) throw new Error(`the ingestion ended after ${during.length} searches: use more --docs`);
  const idle_p50 = percentile(idle, 0.5);
  const during_p50 = percentile(during, 0.5);
  // What the store holds per chunk after the run (for sizing a database): the whole database or file, indexes and
  // keyword rows included, over the chunks /metrics counts.
  const chunks = Number((await get(`${server.url}/metrics`)).text.match(/^qembed_kb_chunks\{[^}]*\} (\d+)/m)?.[1] ?? 0);
  const store_bytes = pg
    ? Number(pg.run("psql", ["-h", pg.dir, "-p", String(pg.port), "-U", "qembed", "-d", "kb", "-Atc",
      "SELECT pg_database_size('kb') - (SELECT pg_database_size('template1'))"]).trim())
    : ["kb.db", "kb.db-wal"].reduce((s, f) => s + (fs.existsSync(path.join(dbDir, f)) ? fs.statSync(path.join(dbDir, f)).size : 0), 0);
  const summary = {
    idle_queries: idle.length,
    idle_p50_ms: +idle_p50.toFixed(1),
    idle_p99_ms: +percentile(idle, 0.99).toFixed(1),
    ingest_queries: during.length,
    ingest_p50_ms: +during_p50.toFixed(1),
    ingest_p99_ms: +percentile(during, 0.99).toFixed(1),
    p50_ratio: +(during_p50 / idle_p50).toFixed(2),
    documents: opts.docs,
    ingest_tokens: job.tokens,
    ingest_seconds: +ingest_s.toFixed(1),
    ingest_tok_per_s: +(job.tokens / ingest_s).toFixed(1),
    target_p50_ratio_le_2: during_p50 <= 2 * idle_p50,
    store: opts.store,
    chunks,
    store_bytes_per_chunk: chunks ? Math.round(store_bytes / chunks) : null,
  };
  console.log(`store: ${opts.store}, ${chunks} chunks, ${summary.store_bytes_per_chunk} bytes per chunk`);
  console.log(`idle: p50 ${summary.idle_p50_ms} ms over ${idle.length} searches`);
  console.log(`during ingestion of ${opts.docs} documents (${job.tokens} tokens in ${summary.ingest_seconds} s): ` +
    `p50 ${summary.ingest_p50_ms} ms, p99 ${summary.ingest_p99_ms} ms over ${during.length} searches ` +
    `-> ${summary.p50_ratio}x idle`);
  console.log(JSON.stringify(summary));
} finally {
  await server.stop();
  pg?.destroy();
  fs.rmSync(dbDir, { recursive: true, force: true });
}
