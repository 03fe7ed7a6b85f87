#!/usr/bin/env node
// The embedding cache under a hot-query workload: a Zipf(s) stream over a set of distinct short queries (a few
// queries are asked very often, most rarely), sent at a fixed concurrency to `qembed serve` with no cache, with the
// in-process cache, and with the cache plus a shared Redis; then two servers sharing one Redis, the stream spread
// over them round-robin (a load balancer), to measure the cross-replica hit rate: of the inputs a server had not
// seen itself, the share the other had already computed. Every configuration starts cold and gets the same stream.
// Prints one line per configuration; last line JSON.
//
//   node tests/server/cache_bench.mjs [--shape small] [--requests 3000] [--concurrency 8] [--queries 2000]
//                                      [--zipf 1.1] [--threads 2]
import { spawn } from "node:child_process";
import net from "node:net";
import { model } from "../cli/helpers.mjs";
import { startServer, sleep } from "./server_helpers.mjs";

const opts = { shape: "small", requests: 3000, concurrency: 8, queries: 2000, zipf: 1.1, threads: 2 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opts)) throw new Error(`unknown option ${process.argv[i]}`);
  opts[key] = typeof opts[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

// A seeded generator (mulberry32): the same queries and stream on every run.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = ("how what why when where best cheap fast simple guide error install configure python rust linux " +
  "docker kubernetes redis cache database index vector search embedding model server latency memory cpu gpu " +
  "weather paris london tokyo recipe pasta bread coffee train flight hotel price review battery phone laptop " +
  "camera football score news history war river mountain capital population language translate meaning").split(" ");

function makeQueries(n) {
  const r = rng(42);
  const set = new Set();
  while (set.size < n) {
    const len = 3 + Math.floor(r() * 6);
    const words = [];
    for (let i = 0; i < len; i++) words.push(WORDS[Math.floor(r() * WORDS.length)]);
    set.add(words.join(" "));
  }
  return [...set];
}

function zipfStream(nItems, s, n) {
  const cdf = [];
  let total = 0;
  for (let k = 1; k <= nItems; k++) cdf.push((total += 1 / Math.pow(k, s)));
  const r = rng(7);
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = r() * total;
    let lo = 0, hi = nItems - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1; else hi = mid;
    }
    out.push(lo);
  }
  return out;
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  for (let i = 0; i < 500 && !/Ready to accept connections/.test(out); i++) await sleep(10);
  if (!/Ready to accept connections/.test(out)) throw new Error(`redis-server did not start:\n${out}`);
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill("SIGKILL") };
}

async function metricsOf(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const v = (re) => Number((text.match(re) || [0, 0])[1]);
  return {
    localHits: v(/^qembed_cache_hits_total\{level="local"\} (\S+)$/m),
    redisHits: v(/^qembed_cache_hits_total\{level="redis"\} (\S+)$/m),
    redisMisses: v(/^qembed_cache_misses_total\{level="redis"\} (\S+)$/m),
    computed: v(/^qembed_inputs_total (\S+)$/m),
  };
}

/** Sends the stream at fixed concurrency, request i to servers[i % n]; per-request latency in ms. */
async function run(servers, queries, stream) {
  const ms = new Array(stream.length);
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    for (let i = next++; i < stream.length; i = next++) {
      const server = servers[i % servers.length];
      const t = performance.now();
      const res = await fetch(`${server.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: queries[stream[i]] }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      ms[i] = performance.now() - t;
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const wall_s = (performance.now() - t0) / 1000;
  const sorted = [...ms].sort((a, b) => a - b);
  const pct = (p) => +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(2);
  return { qps: +(stream.length / wall_s).toFixed(1), p50_ms: pct(0.5), p99_ms: pct(0.99) };
}

const modelPath = model(`cache-bench-${opts.shape}-Q8_0.gguf`,
  ["--shape", opts.shape, "--format", "gguf", "--type", "Q8_0", "--seed", "7"]);
const queries = makeQueries(opts.queries);
const stream = zipfStream(queries.length, opts.zipf, opts.requests);
const distinct = new Set(stream).size;
console.error(`${opts.requests} requests, ${distinct} distinct of ${queries.length} queries (Zipf s=${opts.zipf}), ` +
  `concurrency ${opts.concurrency}, model ${opts.shape} Q8_0, ${opts.threads} threads`);
const serverArgs = ["--threads", String(opts.threads)];
const results = {};

async function configuration(name, flagsList, withRedis) {
  const redis = withRedis ? await startRedis() : null;
  const servers = await Promise.all(flagsList.map((flags) =>
    startServer([...serverArgs, ...flags, ...(redis ? ["--cache-redis", redis.url] : [])], { model: modelPath })));
  try {
    const r = await run(servers, queries, stream);
    const m = (await Promise.all(servers.map(metricsOf))).reduce((a, b) => {
      for (const k of Object.keys(a)) a[k] += b[k];
      return a;
    });
    r.computed = m.computed;
    r.local_hits = m.localHits;
    r.redis_hits = m.redisHits;
    if (withRedis) r.redis_hit_rate = +(m.redisHits / Math.max(1, m.redisHits + m.redisMisses)).toFixed(3);
    results[name] = r;
    console.error(`${name.padEnd(22)} ${String(r.qps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ` +
      `computed ${r.computed}, local hits ${r.local_hits}, redis hits ${r.redis_hits}` +
      (withRedis ? ` (redis hit rate of local misses ${r.redis_hit_rate})` : ""));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    redis?.stop();
  }
}

await configuration("no cache", [["--cache-mb", "0"]], false);
await configuration("local", [["--cache-mb", "256"]], false);
await configuration("local + redis", [["--cache-mb", "256"]], true);
await configuration("2 replicas + redis", [["--cache-mb", "256"], ["--cache-mb", "256"]], true);
console.log(JSON.stringify({ bench: "cache", ...opts, distinct, results }));
