// The embedding cache's shared level through real processes: two `qembed serve` sharing one redis-server (a text
// embedded via one is a Redis hit on the other, bit for bit), and every way Redis can fail — killed while requests
// run, garbage under a key, a listener that never answers — costs misses and counted errors, never a request.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import net from "node:net";
import { startServer, post, get, until, sleep } from "./server_helpers.mjs";
import { freePort, startRedis } from "./backing_services.mjs";

const HAVE_REDIS = spawnSync("redis-server", ["--version"]).status === 0;
const SKIP = HAVE_REDIS ? false : "redis-server is not installed (apt install redis-server; scripts/setup.sh does)";

function redisCli(port, ...args) {
  return execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).trim();
}

async function metrics(server) {
  return (await get(`${server.url}/metrics`)).text;
}
function level(text, name, lvl) {
  const m = text.match(new RegExp(`^${name}\\{level="${lvl}"\\} (\\S+)$`, "m"));
  if (!m) throw new Error(`no metric ${name}{level="${lvl}"}`);
  return Number(m[1]);
}
function plain(text, name) {
  const m = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  if (!m) throw new Error(`no metric ${name}`);
  return Number(m[1]);
}

/** One text's embedding as base64 (the exact float bits). */
async function embed(server, input) {
  const r = await post(`${server.url}/v1/embeddings`, { input, encoding_format: "base64" });
  assert.equal(r.status, 200, r.text);
  return r.body.data.map((d) => d.embedding);
}

let redisPort, redis, A, B;

before(async () => {
  if (SKIP) return;
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  const args = ["--cache-redis", `redis://127.0.0.1:${redisPort}`, "--cache-redis-timeout-ms", "50"];
  [A, B] = await Promise.all([startServer(args), startServer(args)]);
});

after(async () => {
  await Promise.all([A?.stop(), B?.stop()]);
  await redis?.kill("SIGKILL");
});

test("a text embedded via one server is a Redis hit on the other, bit for bit", { skip: SKIP }, async () => {
  const text = "the first replica computes this, the second reads it";
  const [fromA] = await embed(A, text);
  await until(() => Number(redisCli(redisPort, "DBSIZE")) >= 1, 5_000, "the vector to be written to Redis");
  const before = await metrics(B);
  const [fromB] = await embed(B, text);
  const afterB = await metrics(B);
  assert.equal(fromB, fromA);
  assert.equal(level(afterB, "qembed_cache_hits_total", "redis") - level(before, "qembed_cache_hits_total", "redis"), 1);
  assert.equal(plain(afterB, "qembed_inputs_total"), plain(before, "qembed_inputs_total"));  // nothing computed on B
  // Now in B's own cache: a local hit, with `dimensions` served from the same entry.
  const r = await post(`${B.url}/v1/embeddings`, { input: text, dimensions: 64 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.data[0].embedding.length, 64);
  assert.ok(level(await metrics(B), "qembed_cache_hits_total", "local") >= 1);
  const keys = redisCli(redisPort, "KEYS", "qembed:*").split("\n");
  assert.match(keys[0], /^qembed:[0-9a-f]{64}$/);
  const ttl = Number(redisCli(redisPort, "TTL", keys[0]));
  assert.ok(ttl > 86000 && ttl <= 86400, `ttl ${ttl}`);
});

test("garbage under a key is a miss, an error counted, and the computed answer", { skip: SKIP }, async () => {
  const text = "a value someone else overwrote";
  const [fromA] = await embed(A, text);
  await until(() => redisCli(redisPort, "KEYS", "qembed:*").split("\n").length >= 2, 5_000, "the write");
  for (const key of redisCli(redisPort, "KEYS", "qembed:*").split("\n")) redisCli(redisPort, "SET", key, "garbage");
  const before = await metrics(B);
  const [fromB] = await embed(B, text);
  const afterB = await metrics(B);
  assert.equal(fromB, fromA);
  assert.equal(plain(afterB, "qembed_cache_redis_errors_total") - plain(before, "qembed_cache_redis_errors_total"), 1);
  assert.equal(level(afterB, "qembed_cache_misses_total", "redis") - level(before, "qembed_cache_misses_total", "redis"), 1);
  assert.equal(plain(afterB, "qembed_inputs_total") - plain(before, "qembed_inputs_total"), 1);
});

test("Redis killed while requests run: no request fails, errors are counted, hits come back after a restart",
  { skip: SKIP }, async () => {
    const errorsBefore = plain(await metrics(A), "qembed_cache_redis_errors_total");
    let failed = 0, done = 0, stop = false;
    const load = (async () => {
      for (let i = 0; !stop; ++i) {
        const r = await post(`${A.url}/v1/embeddings`, { input: [`load ${i} a`, `load ${i} b`] });
        if (r.status === 200) ++done; else ++failed;
      }
    })();
    await sleep(300);
    await redis.kill("SIGKILL");
    await sleep(1_000);
    stop = true;
    await load;
    assert.equal(failed, 0);
    assert.ok(done > 0);
    assert.ok(plain(await metrics(A), "qembed_cache_redis_errors_total") > errorsBefore);

    redis = await startRedis(redisPort);
    // A backs off up to 10 s between attempts: each round embeds a new text on A and reads it on B.
    let hit = false;
    for (let i = 0; i < 60 && !hit; ++i) {
      const text = `after the restart ${i}`;
      const [fromA] = await embed(A, text);
      await sleep(200);
      const before = level(await metrics(B), "qembed_cache_hits_total", "redis");
      const [fromB] = await embed(B, text);
      assert.equal(fromB, fromA);
      hit = level(await metrics(B), "qembed_cache_hits_total", "redis") > before;
    }
    assert.ok(hit, "no Redis hit within ~25 s of the restart");
  });

test("a Redis that never answers costs at most its timeout per request", { skip: SKIP }, async () => {
  const silent = net.createServer((sock) => sock.on("error", () => {}));  // accepts, reads, never writes
  await new Promise((r) => silent.listen(0, "127.0.0.1", r));
  const C = await startServer(["--cache-redis", `redis://127.0.0.1:${silent.address().port}`,
    "--cache-redis-timeout-ms", "100"]);
  try {
    for (let i = 0; i < 8; ++i) {
      const t0 = Date.now();
      await embed(C, `nobody answers ${i}`);
      assert.ok(Date.now() - t0 < 3_000, `request ${i} took ${Date.now() - t0} ms`);
    }
    const m = await metrics(C);
    assert.ok(plain(m, "qembed_cache_redis_errors_total") >= 1);
    assert.equal(level(m, "qembed_cache_hits_total", "redis"), 0);
    assert.equal(level(m, "qembed_cache_misses_total", "redis"), 8);
    assert.match(m, /qembed_cache_redis_latency_seconds_count [1-9]/);
  } finally {
    await C.stop();
    silent.close();
  }
});
