// Start-up and graceful shutdown: /health is 503 while the model loads; on SIGTERM the server finishes the requests
// in flight (they all succeed), answers every new request 503 with Connection: close (/health included: it keeps
// accepting connections while it drains) and exits 0; past --shutdown-timeout the requests still in flight are
// answered 503, and it still exits 0 since every accepted request got its answer.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { test } from "node:test";
import { QEMBED } from "../cli/helpers.mjs";
import { get, post, sleep, startServer, tinyGguf } from "./server_helpers.mjs";

test("GET /health is 503 while the model loads, then 200", async () => {
  const proc = spawn(QEMBED, ["serve", "--model", tinyGguf(), "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const port = await new Promise((resolve) => {
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/listening on http:\/\/[0-9.]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
  });
  const statuses = [];
  for (let i = 0; i < 600; i++) {
    const r = await get(`http://127.0.0.1:${port}/health`);
    statuses.push(r.status);
    if (r.status === 200) break;
    assert.equal(r.status, 503);
    assert.match(r.body.error.message, /loading/);
    if (statuses.length === 1) {
      const e = await post(`http://127.0.0.1:${port}/v1/embeddings`, { input: "too early" });
      assert.ok(e.status === 503 || e.status === 200, String(e.status));
    }
    await sleep(5);
  }
  assert.equal(statuses.at(-1), 200);
  proc.kill("SIGTERM");
  const code = await new Promise((r) => proc.on("exit", (c) => r(c)));
  assert.equal(code, 0);
});

test("SIGTERM during in-flight requests: they complete, new requests get 503 + close, exit 0", async () => {
  const s = await startServer(["--max-batch-tokens", "256", "--max-queue-tokens", "1000000"]);
  const texts = Array.from({ length: 300 }, (_, i) => `in flight ${i} ` + "some words ".repeat(8));
  // A keep-alive connection opened before the signal: its next request is answered 503 (shutting down).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const viaAgent = () =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: s.port, path: "/v1/embeddings", method: "POST", agent,
        headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text, connection: res.headers.connection }));
      });
      req.on("error", reject);
      req.end(JSON.stringify({ input: "keep-alive" }));
    });
  assert.equal((await viaAgent()).status, 200);
  const inflight = Array.from({ length: 4 }, () => post(`${s.url}/v1/embeddings`, { input: texts }));
  await sleep(200);
  const t0 = Date.now();
  s.proc.kill("SIGTERM");
  await sleep(100);
  const late = await viaAgent();
  assert.equal(late.status, 503, late.text);
  assert.match(JSON.parse(late.text).error.message, /shutting down/);
  assert.equal(late.connection, "close");
  agent.destroy();
  // A new connection during the drain: /health answers 503 (not a refused connection), and closes.
  const health = await fetch(`${s.url}/health`);
  assert.equal(health.status, 503);
  assert.equal(health.headers.get("connection"), "close");
  assert.equal(health.headers.get("retry-after"), "1");
  assert.match((await health.json()).error.message, /shutting down/);
  const results = await Promise.all(inflight);
  for (const r of results) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.data.length, 300);
  }
  const { code, signal } = await s.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, s.stderr());
  assert.ok(Date.now() - t0 < 30_000);
  assert.match(s.stderr(), /SIGTERM received/);
  assert.match(s.stderr(), /qembed: stopped/);
  await assert.rejects(fetch(`${s.url}/health`));
});

test("SIGINT on an idle server with keep-alive connections open exits 0 at once", async () => {
  const s = await startServer();
  assert.equal((await post(`${s.url}/v1/embeddings`, { input: "x" })).status, 200); // leaves a keep-alive socket
  const t0 = Date.now();
  s.proc.kill("SIGINT");
  const { code } = await s.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test("past --shutdown-timeout, requests in flight get 503 and the exit code is still 0", async () => {
  const s = await startServer(["--max-batch-tokens", "64", "--max-queue-tokens", "10000000", "--shutdown-timeout", "0"]);
  const texts = Array.from({ length: 2000 }, (_, i) => `slow ${i} ` + "more words here ".repeat(10));
  const slow = post(`${s.url}/v1/embeddings`, { input: texts });
  for (let i = 0; i < 400; i++) {
    if (/^qembed_requests_in_flight 1$/m.test((await get(`${s.url}/metrics`)).text)) break;
    await sleep(5);
  }
  s.proc.kill("SIGTERM");
  const r = await slow;
  assert.equal(r.status, 503, r.text);
  assert.match(r.body.error.message, /shut down before this request was computed/);
  const { code } = await s.exited;
  assert.equal(code, 0, s.stderr());
  assert.match(s.stderr(), /1 requests in flight were answered 503 without being computed/);
  assert.doesNotMatch(s.stderr(), /not finished|could not be written/);
});

test("SIGTERM while the model loads is honoured at once", async () => {
  const proc = spawn(QEMBED, ["serve", "--model", tinyGguf(), "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  await new Promise((resolve) => {
    proc.stderr.on("data", (d) => {
      err += d;
      if (/listening on/.test(err)) resolve();
    });
  });
  const t0 = Date.now();
  proc.kill("SIGTERM");
  const code = await new Promise((r) => proc.on("exit", (c) => r(c)));
  assert.equal(code, 0, err);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  // Either the load was still running (exit without waiting for it) or it had just finished (a normal drain).
  assert.match(err, /received while loading the model: exiting|qembed: stopped/);
});
