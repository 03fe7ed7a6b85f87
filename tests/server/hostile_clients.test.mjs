// Clients that do what well-behaved ones never do: send requests and never read the answers, tokenize megabytes,
// hold the body budget with headers alone, open more connections than the process has descriptors, send huge
// headers. Whatever they do, the server stays within the memory bound it printed, keeps answering others, and says
// why it refuses.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { QEMBED, tinyGguf } from "../cli/helpers.mjs";
import {
  assertApiError,
  assertTeiError,
  get,
  healthStatusOnceFree,
  metric,
  post,
  rawConnection,
  sleep,
  startServer,
  until,
} from "./server_helpers.mjs";

function rssBytes(pid) {
  return Number(fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
}

function printedBoundBytes(stderr) {
  const m = stderr.match(/memory bound (\d+) MiB/);
  assert.ok(m, stderr);
  return Number(m[1]) * 1024 * 1024;
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime in clock ticks (100 a second)
}




function rawRequest(path, body, extraHeaders = "") {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extraHeaders}` +
         `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

test("clients that never read their responses hold bounded memory: RSS stays under the printed bound", async () => {
  const s = await startServer(["--max-connections", "64", "--max-concurrent-requests", "48", "--payload-limit",
                               "400000", "--prefix-cache-mb", "0", "--max-batch-tokens", "1024",
                               "--max-input-tokens", "16", "--max-response-buffer-mb", "48"]);
  const socks = [];
  try {
    const bound = printedBoundBytes(s.stderr());
    assert.match(s.stderr(), /responses \d+ \(--max-response-buffer-mb\)/);
    // Half the clients ask for 2048 vectors (~6 MB of text each), half tokenize 390 KB (~12 MB of token objects);
    // each pipelines a few, never reads, and keeps its connection open.
    const embed = rawRequest("/v1/embeddings", JSON.stringify({ input: Array(2048).fill("a") }));
    const tokenize = rawRequest("/tokenize", JSON.stringify({ inputs: " a".repeat(195000) }));
    for (let i = 0; i < 44; ++i) {
      const c = net.connect(s.port, "127.0.0.1");
      c.on("error", () => {});
      c.write((i % 2 ? embed : tokenize).repeat(3));
      c.pause();
      socks.push(c);
    }
    let peak = 0, slowestHealth = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 12_000) {
      peak = Math.max(peak, rssBytes(s.proc.pid));
      const h0 = Date.now();
      const h = await get(`${s.url}/health`);
      slowestHealth = Math.max(slowestHealth, Date.now() - h0);
      assert.equal(h.status, 200);
      await sleep(100);
    }
    peak = Math.max(peak, rssBytes(s.proc.pid));
    // Others are still served: /health at once, a normal request (its response fits beside the held ones).
    assert.ok(slowestHealth < 1500, `/health took ${slowestHealth} ms`);
    const normal = await post(`${s.url}/v1/embeddings`, { input: "a normal request" });
    assert.equal(normal.status, 200, normal.text);
    const m = (await get(`${s.url}/metrics`)).text;
    assert.ok(metric(m, "qembed_response_bytes_reserved") <= 48 * 2 ** 20, m);
    assert.ok(peak < bound, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB over the printed bound ${bound / 2 ** 20} MiB`);
    // Once the clients are gone, everything they held is released.
    for (const c of socks) c.destroy();
    let reserved = -1;
    for (let i = 0; i < 200 && reserved !== 0; ++i) {
      await sleep(25);
      reserved = metric((await get(`${s.url}/metrics`)).text, "qembed_response_bytes_reserved");
    }
    assert.equal(reserved, 0);
    assert.equal(metric((await get(`${s.url}/metrics`)).text, "qembed_requests_in_flight"), 0);
  } finally {
    for (const c of socks) c.destroy();
    await s.stop();
  }
});

test("a response that could never fit the response budget is 413 naming the numbers; a full budget is 429", async () => {
  const s = await startServer(["--max-response-buffer-mb", "12", "--max-client-batch-size", "4096"]);
  const hog = net.connect(s.port, "127.0.0.1");
  hog.on("error", () => {});
  try {
    const big = await post(`${s.url}/v1/embeddings`, { input: Array(4096).fill("a") });
    assertApiError(assert, big, 413, /response to 4096 inputs of 256 dimensions as text could take up to \d+ bytes; the server buffers at most 12582912 bytes/);
    // base64 is ~3x smaller: the same request fits.
    const b64 = await post(`${s.url}/v1/embeddings`, { input: Array(4096).fill("a"), encoding_format: "base64" });
    assert.equal(b64.status, 200, b64.text.slice(0, 300));
    const tok = await post(`${s.url}/tokenize`, { inputs: " a".repeat(110000) });
    assertTeiError(assert, tok, 413, "Validation", /\/tokenize response of 110001 tokens could take up to \d+ bytes/);
    // While a client that does not read holds most of the budget (a ~6 MB response, more than the socket buffers
    // take), a request that needs as much gets 429 + Retry-After.
    hog.write(rawRequest("/v1/embeddings", JSON.stringify({ input: Array(2048).fill("a") })));
    hog.pause();
    let busy;
    for (let i = 0; i < 300; ++i) {
      busy = await post(`${s.url}/v1/embeddings`, { input: Array(2048).fill("b") });
      if (busy.status === 429) break;
      await sleep(10);
    }
    assertApiError(assert, busy, 429, /holding its limit of 12582912 response bytes/);
    assert.equal(busy.headers.get("retry-after"), "1");
    // A small request still fits beside it.
    assert.equal((await post(`${s.url}/v1/embeddings`, { input: "small" })).status, 200);
  } finally {
    hog.destroy();
    await s.stop();
  }
});

test("a large /tokenize does not hold up /health (parsing and tokenizing run off the I/O thread)", async () => {
  const s = await startServer([]);
  try {
    const text = "hello world, this is a sentence. ".repeat(46000);  // ~1.5 MB
    const t0 = Date.now();
    let tokenizeMs = 0;
    const big = post(`${s.url}/tokenize`, { inputs: text }).then((r) => {
      tokenizeMs = Date.now() - t0;
      return r;
    });
    const health = [];
    await sleep(20);
    while (!tokenizeMs) {
      const h0 = Date.now();
      const h = await get(`${s.url}/health`);
      if (!tokenizeMs) health.push(Date.now() - h0);
      assert.equal(h.status, 200);
      await sleep(20);
    }
    const r = await big;
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body) && r.body[0].length > 100000);
    assert.ok(health.length >= 2, `only ${health.length} /health calls while /tokenize ran ${tokenizeMs} ms`);
    const worst = Math.max(...health);
    assert.ok(worst < Math.max(200, tokenizeMs / 5), `/health took ${worst} ms while /tokenize took ${tokenizeMs} ms`);
  } finally {
    await s.stop();
  }
});

test("unauthenticated header-only connections cannot lock authenticated POSTs out of the body budget", async () => {
  const s = await startServer(["--api-key", "sekret", "--payload-limit", "100000", "--max-concurrent-requests", "2"]);
  const conns = [];
  try {
    // Each claims 90000 body bytes (the budget is 200000) and sends none.
    for (let i = 0; i < 20; ++i) {
      const c = rawConnection(s.port);
      await c.connected;
      c.sock.write("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                   "Content-Length: 90000\r\n\r\n");
      conns.push(c);
    }
    // They are answered 401 on their headers, without reading a body, and closed.
    for (const c of conns) await until(() => /\r\n\r\n\{.*\}$/s.test(c.data), 3000, "the 401");
    for (const c of conns) {
      assert.match(c.data, /^HTTP\/1\.1 401 /);
      assert.match(c.data, /\r\nConnection: close\r\n/i);
    }
    const ok = await post(`${s.url}/v1/embeddings`, { input: "hello" }, { authorization: "Bearer sekret" });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(metric((await get(`${s.url}/metrics`, { authorization: "Bearer sekret" })).text,
                        "qembed_body_bytes_reserved"), 0);
  } finally {
    for (const c of conns) c.sock.destroy();
    await s.stop();
  }
});

test("an authenticated body that stalls is cut off after --body-timeout with 408, releasing its reservation", async () => {
  const s = await startServer(["--api-key", "sekret", "--payload-limit", "100000", "--max-concurrent-requests", "1",
                               "--body-timeout", "1"]);
  try {
    const c = rawConnection(s.port);
    await c.connected;
    c.sock.write("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\n" +
                 "Content-Type: application/json\r\nContent-Length: 90000\r\n\r\n{\"input\": ");
    await sleep(200);
    // Meanwhile its 90000 bytes are held: a second body does not fit.
    const busy = await post(`${s.url}/v1/embeddings`, JSON.stringify({ input: "x" }) + " ".repeat(50000),
                            { authorization: "Bearer sekret" });
    assertApiError(assert, busy, 429, /request body bytes/);
    await until(() => /\r\n\r\n\{.*\}$/s.test(c.data), 3000, "the 408");
    assert.match(c.data, /^HTTP\/1\.1 408 /);
    assert.match(c.data, /did not arrive within 1 s/);
    await Promise.race([c.closed, sleep(3000).then(() => assert.fail("the stalled connection stayed open"))]);
    const ok = await post(`${s.url}/v1/embeddings`, JSON.stringify({ input: "x" }) + " ".repeat(50000),
                          { authorization: "Bearer sekret" });
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await s.stop();
  }
});

test("a request header over the limit is 431 naming the header limit", async () => {
  const s = await startServer([]);
  try {
    const c = rawConnection(s.port);
    await c.connected;
    c.sock.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70000)}\r\n\r\n`);
    await until(() => /\r\n\r\n\{.*\}$/s.test(c.data), 3000, "the 431");
    assert.match(c.data, /^HTTP\/1\.1 431 /);
    const body = JSON.parse(c.data.slice(c.data.indexOf("\r\n\r\n") + 4));
    assert.match(body.error.message, /request header is larger than the limit of 65536 bytes/);
    assert.doesNotMatch(body.error.message, /payload/);
    assert.equal((await get(`${s.url}/health`)).status, 200);
  } finally {
    await s.stop();
  }
});

/** Starts the server under a descriptor limit (soft and hard); resolves once ready. */
async function startUnderFdLimit(limit, args) {
  const proc = spawn("bash", ["-c", `ulimit -n ${limit} && exec "$0" "$@"`, QEMBED, "serve", "--model", tinyGguf(),
                              "--port", "0", "--threads", "2", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  await until(() => /ready on http:\/\/[0-9.]+:\d+/.test(stderr) || proc.exitCode !== null, 60_000, "ready");
  const port = Number(stderr.match(/ready on http:\/\/[0-9.]+:(\d+)/)?.[1]);
  assert.ok(port, stderr);
  return { proc, port, url: `http://127.0.0.1:${port}`, stderr: () => stderr,
           stop: async () => (proc.kill("SIGTERM"), exited) };
}

test("under a small descriptor limit: the cap fits it, extra connections get 503 at once, no spinning", async () => {
  const s = await startUnderFdLimit(128, []);
  const conns = [];
  try {
    assert.match(s.stderr(), /serving at most 96 connections: the descriptor limit is 128/);
    assert.match(s.stderr(), /connections \d+ \(96 x \d+ KiB\)/);
    for (let i = 0; i < 140; ++i) conns.push(rawConnection(s.port));
    await Promise.all(conns.map((c) => c.connected.catch(() => {})));
    await sleep(300);
    const cpu0 = cpuSeconds(s.proc.pid);
    await sleep(2000);
    const cpu = cpuSeconds(s.proc.pid) - cpu0;
    assert.ok(cpu < 0.5, `the server used ${cpu} s of CPU in 2 s with idle connections`);
    // A new connection is answered (503), not left hanging, and the log says why.
    const late = rawConnection(s.port);
    await late.connected;
    late.sock.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => late.data.includes("\r\n\r\n{"), 3000, "an answer to a connection past the cap");
    assert.match(late.data, /^HTTP\/1\.1 503 /);
    assert.match(s.stderr(), /refusing new connections with 503: 96 connections are open/);
    late.sock.destroy();
    for (const c of conns) c.sock.destroy();
    assert.equal(await healthStatusOnceFree(s.url), 200);
  } finally {
    for (const c of conns) c.sock.destroy();
    await s.stop();
  }
});

test("an explicit --max-connections that the descriptor limit cannot hold is lowered, with a log line", async () => {
  const s = await startUnderFdLimit(128, ["--max-connections", "4096"]);
  try {
    assert.match(s.stderr(), /--max-connections 4096 does not fit: serving at most 96 connections; the descriptor limit is 128/);
    assert.equal((await get(`${s.url}/health`)).status, 200);
  } finally {
    await s.stop();
  }
});
