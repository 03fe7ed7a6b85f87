// Memory bounds against traffic: request bodies are read only within the body budget (max-concurrent-requests x
// payload-limit; past it 429 at once, body unread), and open connections are capped (--max-connections; past it
// 503 and closed at once).
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import {
  assertApiError,
  get,
  healthStatusOnceFree,
  metric,
  post,
  rawConnection,
  sleep,
  startServer,
  until,
} from "./server_helpers.mjs";




/** A valid embeddings body padded with JSON whitespace to exactly `size` bytes. */
function paddedBody(size) {
  const json = JSON.stringify({ input: "hello world" });
  return Buffer.from(json + " ".repeat(size - json.length));
}

function headers(size) {
  return `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
}

test("a body over the body budget gets 429 at once, unread; bodies within it are served", async () => {
  const s = await startServer(["--payload-limit", "100000", "--max-concurrent-requests", "2"]);
  try {
    const SIZE = 90000;
    const body = paddedBody(SIZE);
    // Two slow senders: headers and the first 1000 body bytes; together they reserve 180000 of the 200000 bytes.
    const slow = [rawConnection(s.port), rawConnection(s.port)];
    for (const c of slow) {
      await c.connected;
      c.sock.write(headers(SIZE));
      c.sock.write(body.subarray(0, 1000));
    }
    // Reservation happens when the headers arrive; wait until both are counted.
    let reserved = metric((await get(`${s.url}/metrics`)).text, "qembed_body_bytes_reserved");
    for (let i = 0; reserved < 2 * SIZE && i < 100; ++i) {
      await sleep(10);
      reserved = metric((await get(`${s.url}/metrics`)).text, "qembed_body_bytes_reserved");
    }
    assert.equal(reserved, 2 * SIZE);

    // A third one does not fit: 429 with Retry-After and an OpenAI error body, at once, then the server closes.
    const t0 = Date.now();
    const over = rawConnection(s.port);
    await over.connected;
    over.sock.write(headers(SIZE));
    over.sock.write(body.subarray(0, 1000));
    await until(() => over.data.includes("\r\n\r\n{") && over.data.trim().endsWith("}"), 2000, "the 429");
    assert.ok(Date.now() - t0 < 2000);
    assert.match(over.data, /^HTTP\/1\.1 429 /);
    assert.match(over.data, /\r\nRetry-After: 1\r\n/i);
    assert.match(over.data, /\r\nConnection: close\r\n/i);
    const json = JSON.parse(over.data.slice(over.data.indexOf("\r\n\r\n") + 4));
    assert.match(json.error.message, /request body bytes/);
    await Promise.race([over.closed, sleep(3000).then(() => assert.fail("the over-budget connection stayed open"))]);

    // A small request still fits in the rest of the budget.
    const small = await post(`${s.url}/v1/embeddings`, { input: "small" });
    assert.equal(small.status, 200, small.text);

    // The slow senders are still pending; once their bodies are complete they are served.
    for (const c of slow) assert.equal(c.data, "");
    for (const c of slow) c.sock.write(body.subarray(1000));
    for (const c of slow) await until(() => /\r\n\r\n\{.*\}$/s.test(c.data), 10000, "a slow sender's response");
    for (const c of slow) {
      assert.match(c.data, /^HTTP\/1\.1 200 /);
      const r = JSON.parse(c.data.slice(c.data.indexOf("\r\n\r\n") + 4));
      assert.equal(r.data.length, 1);
      c.sock.destroy();
    }

    // Every reservation is released; the server is healthy.
    await sleep(50);
    assert.equal((await get(`${s.url}/health`)).status, 200);
    const m = (await get(`${s.url}/metrics`)).text;
    assert.equal(metric(m, "qembed_body_bytes_reserved"), 0);
  } finally {
    await s.stop();
  }
});

test("a connection dropped mid-body releases its reservation", async () => {
  const s = await startServer(["--payload-limit", "100000", "--max-concurrent-requests", "1"]);
  try {
    const c = rawConnection(s.port);
    await c.connected;
    c.sock.write(headers(90000));
    c.sock.write(paddedBody(90000).subarray(0, 500));
    await sleep(100);
    const busy = await post(`${s.url}/v1/embeddings`, paddedBody(50000));
    assertApiError(assert, busy, 429, /request body bytes/);
    c.sock.destroy();
    await until(() => c.ended, 2000, "close");
    let r;
    for (let i = 0; i < 100; ++i) {
      r = await post(`${s.url}/v1/embeddings`, paddedBody(50000));
      if (r.status === 200) break;
      await sleep(20);
    }
    assert.equal(r.status, 200, r.text);
  } finally {
    await s.stop();
  }
});

test("--max-connections: connections past the cap get 503 and are closed at once", async () => {
  const s = await startServer(["--max-connections", "20"]);
  try {
    const conns = [];
    for (let i = 0; i < 50; ++i) conns.push(rawConnection(s.port));
    await Promise.all(conns.map((c) => c.connected));
    // The server takes the first 20 and closes the rest promptly.
    await until(() => conns.filter((c) => c.ended).length >= 30, 2000, "30 closed connections");
    await sleep(100);
    assert.equal(conns.filter((c) => c.ended).length, 30);
    for (const c of conns.filter((c) => c.ended)) {
      if (c.data) assert.match(c.data, /^HTTP\/1\.1 503 /);
    }
    assert.ok(conns.some((c) => c.data.startsWith("HTTP/1.1 503 ")));

    for (const c of conns) c.sock.destroy();
    assert.equal(await healthStatusOnceFree(s.url), 200);
    const m = (await get(`${s.url}/metrics`)).text;
    assert.ok(metric(m, "qembed_connections_rejected_total") >= 30);
    assert.ok(metric(m, "qembed_open_connections") <= 2, m);
  } finally {
    await s.stop();
  }
});

test("the start-up memory bound includes request bodies, their work, responses and connections", async () => {
  const s = await startServer(["--payload-limit", "100000", "--max-concurrent-requests", "2",
                               "--max-connections", "64", "--tokenization-workers", "3",
                               "--max-response-buffer-mb", "16"]);
  try {
    assert.match(s.stderr(), /request bodies \S+ \(2 x 100000 bytes\) \+ request work \S+ \(3 workers x 12800000 bytes\) /);
    assert.match(s.stderr(), /\+ responses 16 \(--max-response-buffer-mb\) \+ connections \S+ \(64 x 128 KiB\) \+ runtime \d+/);
  } finally {
    await s.stop();
  }
});
