// The deployment of deploy/ as a user runs it, on loopback: a PostgreSQL knowledge base, a Redis embedding cache,
// three `qembed serve` replicas started with deploy/systemd/qembed@.service's ExecStart, and nginx running
// deploy/nginx/qembed.conf in front. Under bounded load (a few clients for a few seconds) it shows:
//   - kill -9 of a replica: no client request fails; the replica restarts (as Restart=always) and rejoins;
//   - Redis killed and restarted: no request fails; the cache hit rate comes back;
//   - PostgreSQL restarted during uploads: uploads fail cleanly (503 with Retry-After) or are acknowledged, and
//     every acknowledged document is indexed and found through another replica; searches answer 200 or 503, and
//     again once it is back; embedding requests, which never touch the database, do not fail at all;
//   - replicas share work: a text embedded through one is a cache hit on another, a document uploaded through one
//     is found through another.
// The Kubernetes manifests are checked statically against the same command line, port, probes and memory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { tinyGguf } from "../cli/helpers.mjs";
import { post, get, sleep } from "../server/server_helpers.mjs";
import {
  DEPLOY, Postgres, Replica, freePort, missingTools, readYamlDocuments, startNginx, startRedis, unitCommand,
} from "./deploy_helpers.mjs";

const SKIP = missingTools() || false;
const log = (...a) => console.log("#", ...a);

let pg, redis, redisPort, nginx, vars;
const replicas = [];
const tStart = Date.now();

before(async () => {
  if (SKIP) return;
  pg = new Postgres();
  pg.init();
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  vars = { MODEL: tinyGguf(), KB_URL: pg.url(), REDIS_URL: `redis://127.0.0.1:${redisPort}`, THREADS: "1" };
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const p of ports) replicas.push(new Replica(p, vars));
  // One first (it migrates the schema), then the others.
  await replicas[0].start();
  await Promise.all(replicas.slice(1).map((r) => r.start()));
  nginx = await startNginx(ports);
  const c = await post(`${nginx.url}/v1/kb/collections`, { name: "docs", chunk_tokens: 128, chunk_overlap: 16 });
  assert.equal(c.status, 201, c.text);
  log(`set-up (PostgreSQL, Redis, 3 replicas, nginx) in ${Date.now() - tStart} ms`);
});

after(async () => {
  await Promise.all(replicas.map((r) => r.kill("SIGTERM")));
  await nginx?.stop();
  await redis?.kill("SIGKILL");
  pg?.destroy();
});

// --- helpers

async function metrics(r) {
  return (await get(`${r.url}/metrics`)).text;
}
function metricValue(text, name, labels = "") {
  const esc = labels.replace(/[{}"=,]/g, (c) => `\\${c}`);
  const m = text.match(new RegExp(`^${name}${esc} (\\S+)$`, "m"));
  return m ? Number(m[1]) : 0;
}
const redisHits = async (r) => metricValue(await metrics(r), "qembed_cache_hits_total", '{level="redis"}');
const embeddingsServed = async (r) =>
  metricValue(await metrics(r), "qembed_requests_total", '{endpoint="/v1/embeddings",status="200"}');

async function embedVia(url, input) {
  const r = await post(`${url}/v1/embeddings`, { input, encoding_format: "base64" });
  assert.equal(r.status, 200, r.text);
  return r.body.data.map((d) => d.embedding);
}

/** `clients` loops posting embeddings through nginx until stop(); every answer but 200 is a failure. */
function embeddingLoad(clients, tag) {
  const st = { ok: 0, failed: [], stop: false };
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !st.stop; ++i) {
      // One new text (computed) and one of a small shared set (cache hits).
      const input = [`${tag} client ${c} request ${i}`, `${tag} shared text ${i % 16}`];
      try {
        const r = await fetch(`${nginx.url}/v1/embeddings`, {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }),
        });
        const body = await r.text();
        if (r.status === 200 && JSON.parse(body).data.length === 2) ++st.ok;
        else st.failed.push(`${r.status} ${body.slice(0, 200)}`);
      } catch (e) {
        st.failed.push(`connection: ${e.cause?.code ?? e.message}`);
      }
    }
  });
  st.done = async () => ((st.stop = true), await Promise.all(loops), st);
  return st;
}

/** Fraction of texts, embedded on replica i then asked of replica i+1, that the second answers from a cache. */
async function crossReplicaHitRate(tag, n = 12) {
  const texts = Array.from({ length: n }, (_, i) => `${tag} hit-rate probe ${i} ${Date.now()}`);
  for (let i = 0; i < n; ++i) await embedVia(replicas[i % 3].url, texts[i]);
  await sleep(300);  // the writes to Redis are asynchronous
  const before = await Promise.all(replicas.map(redisHits));
  for (let i = 0; i < n; ++i) await embedVia(replicas[(i + 1) % 3].url, texts[i]);
  const afterHits = await Promise.all(replicas.map(redisHits));
  return afterHits.reduce((s, h, k) => s + h - before[k], 0) / n;
}

function letters(n) {  // a word the keyword analyser keeps whole: only letters
  let s = "";
  do {
    s += String.fromCharCode(97 + (n % 26));
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

async function upload(url, name, text) {
  const form = new FormData();
  form.append("file", new Blob([text], { type: "text/plain" }), name);
  const r = await fetch(`${url}/v1/kb/collections/docs/documents`, { method: "POST", body: form });
  const raw = await r.text();
  let body = raw;
  try {
    body = JSON.parse(raw);
  } catch {}
  return { status: r.status, headers: r.headers, body, text: raw };
}

async function keywordSearch(url, query) {
  return post(`${url}/v1/kb/collections/docs/search`, { query, mode: "keyword", top_k: 5 });
}

// --- static checks of the manifests against the unit

test("the Kubernetes manifests parse and name the unit's command line, port, probes and memory", { skip: SKIP }, async (t) => {
  const dir = path.join(DEPLOY, "k8s");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => path.join(dir, f));
  const docs = readYamlDocuments(files);
  if (docs === null) return t.skip("python3 with the yaml module is not installed (apt install python3-yaml)");
  const all = Object.values(docs).flat();
  const kinds = all.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ["ConfigMap", "Deployment", "Service"]);
  const dep = all.find((d) => d.kind === "Deployment");
  const svc = all.find((d) => d.kind === "Service");
  const cm = all.find((d) => d.kind === "ConfigMap");
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];

  // The same command line as the systemd unit, but for the listening address.
  const unit = unitCommand(8080, { MODEL: "$(MODEL)", KB_URL: "$(KB_URL)", REDIS_URL: "$(REDIS_URL)", THREADS: "$(THREADS)" });
  const pairs = (argv) => {
    const m = new Map();
    for (let i = 0; i < argv.length; ++i) if (argv[i].startsWith("--")) m.set(argv[i], argv[i + 1]);
    return m;
  };
  const fromUnit = pairs(unit.slice(1));
  const fromK8s = pairs(c.args);
  assert.deepEqual(c.command, ["/usr/local/bin/qembed"]);
  assert.equal(c.args[0], "serve");
  assert.equal(fromK8s.get("--host"), "0.0.0.0");
  fromUnit.delete("--host");
  fromK8s.delete("--host");
  assert.deepEqual(Object.fromEntries(fromK8s), Object.fromEntries(fromUnit));
  // Every $(VAR) of the args comes from the ConfigMap or an env entry.
  for (const v of c.args.join(" ").matchAll(/\$\((\w+)\)/g)) {
    assert.ok(v[1] in cm.data || c.env.some((e) => e.name === v[1]), `$(${v[1]}) is not defined`);
  }
  assert.ok(c.envFrom.some((e) => e.configMapRef?.name === cm.metadata.name));

  // Port and probes.
  const port = c.ports.find((p) => p.name === "http");
  assert.equal(String(port.containerPort), fromUnit.get("--port"));
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    assert.equal(c[probe].httpGet.path, "/health", probe);
    assert.equal(c[probe].httpGet.port, "http", probe);
  }
  assert.equal(svc.spec.ports[0].targetPort, "http");
  assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);

  // Graceful termination: preStop + the drain (--shutdown-timeout + 2 s of flushing) fit in the grace period, as
  // in the unit's TimeoutStopSec.
  const drain = Number(fromUnit.get("--shutdown-timeout")) + 2;
  const preStop = Number(c.lifecycle.preStop.exec.command.at(-1));
  assert.ok(pod.terminationGracePeriodSeconds >= preStop + drain, "terminationGracePeriodSeconds too short");
  const unitText = fs.readFileSync(path.join(DEPLOY, "systemd", "qembed@.service"), "utf8");
  assert.ok(Number(unitText.match(/^TimeoutStopSec=(\d+)$/m)[1]) >= drain, "TimeoutStopSec too short");
  assert.match(unitText, /^KillSignal=SIGTERM$/m);
  assert.match(unitText, /^Restart=always$/m);
  assert.ok(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold > drain, "liveness would kill a draining pod");

  // Memory: request = limit, the unit's MemoryMax the same, and above the bound the tiny model's replicas print.
  const gib = (s) => Number(String(s).match(/^(\d+)Gi$/)[1]);
  assert.equal(c.resources.requests.memory, c.resources.limits.memory);
  assert.equal(Number(unitText.match(/^MemoryMax=(\d+)G$/m)[1]), gib(c.resources.limits.memory));
  for (const r of replicas) {
    assert.ok(r.memoryBoundMiB > 0, "no memory bound line");
    assert.ok(r.memoryBoundMiB < gib(c.resources.limits.memory) * 1024, r.log.match(/memory bound.*/)[0]);
    assert.ok(r.memoryBoundMiB < gib(c.resources.limits.memory) * 1024, `bound ${r.memoryBoundMiB} MiB over the limit`);
  }
  log(`memory bound of a tiny-model replica with the unit's flags: ${replicas[0].memoryBoundMiB} MiB`);
});

// --- the scenarios

test("replicas share work: a text embedded via one is a cache hit on another; an upload via one is found via another",
  { skip: SKIP }, async () => {
    const [A, B, C] = replicas;
    const text = `shared between replicas ${Date.now()}`;
    const [fromA] = await embedVia(A.url, text);
    await sleep(300);
    const before = await redisHits(B);
    const [fromB] = await embedVia(B.url, text);
    assert.equal(fromB, fromA, "the same vector, bit for bit");
    assert.equal(await redisHits(B) - before, 1, "B answered from Redis");

    const r = await upload(`${A.url}`, "shared.txt", "The replicas share one knowledge base: zebrafrobnicate lives here.");
    assert.equal(r.status, 202, r.text);
    const id = r.body.documents[0].document_id;
    for (let i = 0; ; ++i) {
      const d = await get(`${C.url}/v1/kb/collections/docs/documents/${id}`);
      if (d.body.status === "indexed") break;
      assert.ok(i < 200, `not indexed: ${d.text}`);
      await sleep(50);
    }
    const s = await keywordSearch(C.url, "zebrafrobnicate");
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.hits[0]?.document, "shared.txt", s.text);
    const v = await post(`${B.url}/v1/kb/collections/docs/search`, { query: "zebrafrobnicate", mode: "vector" });
    assert.equal(v.status, 200, v.text);
    assert.ok(v.body.hits.some((h) => h.document === "shared.txt"), v.text);
  });

test("kill -9 of a replica under load: no client request fails; it restarts and rejoins", { skip: SKIP }, async () => {
  const victim = replicas[1];
  const t0 = Date.now();
  const load = embeddingLoad(3, "kill");
  await sleep(1_000);
  victim.kill("SIGKILL");
  const exit = await victim.exited;
  assert.equal(exit.signal, "SIGKILL");
  await sleep(1_000);  // down for a while, as systemd's RestartSec
  const tRestart = Date.now();
  await victim.start();  // the same command line (Restart=always)
  const restartMs = Date.now() - tRestart;
  await sleep(1_000);
  const st = await load.done();
  log(`kill -9: ${st.ok} requests answered, ${st.failed.length} failed in ${Date.now() - t0} ms; ` +
    `restarted and /health 200 in ${restartMs} ms`);
  assert.deepEqual(st.failed, [], "requests failed while a replica died");
  assert.ok(st.ok > 20, `only ${st.ok} requests answered`);

  // It rejoins: nginx sends it requests again once fail_timeout (5 s) has passed.
  const served0 = await embeddingsServed(victim);
  let rejoinedMs;
  for (const t1 = Date.now(); Date.now() - t1 < 15_000;) {
    for (let i = 0; i < 6; ++i) await embedVia(nginx.url, `rejoin ${Date.now()} ${i}`);
    if (await embeddingsServed(victim) > served0) {
      rejoinedMs = Date.now() - t1;
      break;
    }
    await sleep(250);
  }
  assert.ok(rejoinedMs !== undefined, "the restarted replica got no requests through nginx within 15 s");
  log(`the restarted replica serves through nginx again ${rejoinedMs} ms after the load`);
});

test("Redis killed and restarted under load: no request fails; the hit rate comes back", { skip: SKIP }, async () => {
  const baseline = await crossReplicaHitRate("baseline");
  assert.ok(baseline >= 0.9, `cross-replica hit rate before the outage: ${baseline}`);
  const t0 = Date.now();
  const load = embeddingLoad(3, "redis");
  await sleep(1_000);
  await redis.kill("SIGKILL");
  await sleep(1_500);
  redis = await startRedis(redisPort);  // empty: no persistence
  const tBack = Date.now();
  await sleep(1_500);
  const st = await load.done();
  log(`Redis outage: ${st.ok} requests answered, ${st.failed.length} failed in ${Date.now() - t0} ms`);
  assert.deepEqual(st.failed, [], "requests failed while Redis was down");
  assert.ok(st.ok > 20, `only ${st.ok} requests answered`);

  // The replicas back off up to 10 s between attempts after a failure; the hit rate recovers within that.
  let rate = 0;
  let recoveredMs;
  for (let round = 0; Date.now() - tBack < 25_000; ++round) {
    rate = await crossReplicaHitRate(`recovery ${round}`);
    if (rate >= 0.9) {
      recoveredMs = Date.now() - tBack;
      break;
    }
    await sleep(500);
  }
  log(`cross-replica hit rate: ${baseline} before, ${rate} after; recovered ${recoveredMs} ms after Redis came back`);
  assert.ok(recoveredMs !== undefined, `hit rate ${rate} after 25 s`);
});

test("PostgreSQL restarted during uploads: uploads fail cleanly or are kept; search answers again; embeddings never fail", { skip: SKIP }, async () => {
  const acknowledged = [];  // {name, id, word}
  const outcomes = {};
  const unexpected = [];
  const count = (k) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
  let stop = false;
  let n = 0;
  const uploaders = Array.from({ length: 3 }, async () => {
    while (!stop) {
      const k = n++;
      const word = `pgword${letters(k)}x`;
      const name = `restart-${k}.txt`;
      try {
        const r = await upload(nginx.url, name, `Upload ${k} during the database restart carries ${word} inside.`);
        const doc = r.body?.documents?.[0];
        if ((r.status === 202 || r.status === 200) && doc && ["pending", "indexed"].includes(doc.status)) {
          acknowledged.push({ name, id: doc.document_id, word });
          count(`${r.status} ${doc.status}`);
        } else if ((r.status === 503 || r.status === 429) && r.headers.get("retry-after")) {
          count(`${r.status} + Retry-After`);
        } else {
          unexpected.push(`${r.status} ${r.text.slice(0, 300)}`);
        }
      } catch (e) {
        count(`connection error ${e.cause?.code ?? e.message}`);
      }
    }
  });
  const searches = {};
  const searcher = (async () => {
    while (!stop) {
      const r = await keywordSearch(nginx.url, "restart").catch(() => ({ status: 0 }));
      searches[r.status] = (searches[r.status] ?? 0) + 1;
      await sleep(20);
    }
  })();
  const embeddings = embeddingLoad(2, "pg-outage");
  await sleep(1_500);
  const t0 = Date.now();
  pg.stop("immediate");  // as a crash: every connection dropped
  await sleep(1_000);
  pg.start();
  const downMs = Date.now() - t0;
  await sleep(2_000);
  stop = true;
  await Promise.all([...uploaders, searcher]);
  const emb = await embeddings.done();
  log(`PostgreSQL down ${downMs} ms; uploads: ${JSON.stringify(outcomes)}; searches by status: ${JSON.stringify(searches)}; ` +
    `embeddings: ${emb.ok} answered, ${emb.failed.length} failed`);
  assert.deepEqual(emb.failed.slice(0, 5), [], "embedding requests failed while only the database was down");
  assert.ok(emb.ok > 10, `only ${emb.ok} embedding requests answered`);
  const serverErrors = replicas.flatMap((r) => r.log.split("\n").filter((l) => /error|storage/i.test(l))).slice(0, 20);
  assert.deepEqual(unexpected, [], "uploads answered something other than success or a retryable failure; " +
    `the replicas logged:\n${serverErrors.join("\n")}`);
  assert.ok(acknowledged.length > 0, "no upload succeeded");
  // The outage is seen as what it is: the database unreachable, 503 with Retry-After (not a 202 listing a failed file,
  // nor the 429 of a full server).
  assert.ok(outcomes["503 + Retry-After"] > 0, `no upload met the outage as a 503: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(searches).filter((s) => s !== "200" && s !== "503"), [],
    `searches answered other than 200 or 503: ${JSON.stringify(searches)}`);

  // Search answers again through nginx.
  let searchOk = false;
  for (let i = 0; i < 100 && !searchOk; ++i) {
    searchOk = (await keywordSearch(nginx.url, "restart").catch(() => ({ status: 0 }))).status === 200;
    if (!searchOk) await sleep(100);
  }
  assert.ok(searchOk, "search did not answer 200 within 10 s of the restart");

  // Every acknowledged upload is indexed and found, each through a replica chosen in turn.
  const deadline = Date.now() + 30_000;
  const notIndexed = [];
  for (const a of acknowledged) {
    let status;
    for (;;) {
      const d = await get(`${nginx.url}/v1/kb/collections/docs/documents/${a.id}`);
      status = d.body?.status;
      if (status === "indexed" || Date.now() > deadline) break;
      await sleep(100);
    }
    if (status !== "indexed") notIndexed.push(`${a.name} (${status})`);
  }
  assert.deepEqual(notIndexed, [], "acknowledged uploads that were never indexed");
  const missing = [];
  for (const [k, a] of acknowledged.entries()) {
    const s = await keywordSearch(replicas[k % 3].url, a.word);
    if (s.status !== 200 || s.body.hits[0]?.document !== a.name) missing.push(`${a.name}: ${s.status} ${s.text.slice(0, 200)}`);
  }
  assert.deepEqual(missing, [], "acknowledged uploads not found");
  log(`${acknowledged.length} acknowledged uploads, all indexed and found through another replica`);
});

test("replicas stop cleanly on SIGTERM (the unit's KillSignal)", { skip: SKIP }, async () => {
  const exits = await Promise.all(replicas.map((r) => r.kill("SIGTERM")));
  for (const e of exits) assert.equal(e.code, 0, JSON.stringify(e));
  log(`whole test ${Date.now() - tStart} ms`);
});
