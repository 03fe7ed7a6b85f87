// Load test (loopback only, bounded in time). Runs with the rest of tests/server/ and on its own:
//   node --test tests/server/load_test.mjs
// QEMBED_LOAD_SECONDS (default 20) and QEMBED_LOAD_BURST (default 1000) shorten it for quick runs.
//  1. 24 concurrent keep-alive clients under --max-concurrent-requests 32 for 20 s: every request served (200).
//  2. A burst of 1000 simultaneous requests: only 200s and 429s, no 5xx, no dropped connection.
//  Every vector is compared with the single-request vector of the same text; afterwards the server is healthy and
//  its peak RSS (VmHWM) is under 1 GB.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { cosine, peakRssBytes, startServer } from "./server_helpers.mjs";

const SECONDS = Number(process.env.QEMBED_LOAD_SECONDS ?? 20);
const BURST = Number(process.env.QEMBED_LOAD_BURST ?? 1000);
const CLIENTS = 24;

let server;
const texts = Array.from({ length: 64 }, (_, i) => `load text ${i}: ` + "the quick brown fox ".repeat(1 + (i % 9)));
const reference = new Map();

function request(port, agent, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: "127.0.0.1", port, path: "/v1/embeddings", method: "POST", agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text, retryAfter: res.headers["retry-after"] }));
        res.on("error", (e) => resolve({ status: 0, error: e.message }));
      },
    );
    req.on("error", (e) => resolve({ status: 0, error: e.message }));
    req.end(data);
  });
}

function checkVectors(r, inputs) {
  const body = JSON.parse(r.text);
  assert.equal(body.data.length, inputs.length);
  for (let k = 0; k < inputs.length; k++) {
    const c = cosine(body.data[k].embedding, reference.get(inputs[k]));
    assert.ok(c >= 0.99999, `vector for "${inputs[k]}" differs from the single-request vector (cos ${c})`);
  }
}

before(async () => {
  server = await startServer(["--max-concurrent-requests", "32", "--max-batch-tokens", "2048"]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const t of texts) {
    const r = await request(server.port, agent, { input: t });
    assert.equal(r.status, 200, r.text);
    reference.set(t, JSON.parse(r.text).data[0].embedding);
  }
  agent.destroy();
});

after(async () => {
  if (server) assert.equal((await server.stop()).code, 0);
});

test(`${CLIENTS} keep-alive clients for ${SECONDS} s under --max-concurrent-requests 32: all served`, async (t) => {
  const deadline = Date.now() + SECONDS * 1000;
  const counts = { ok: 0, bad: [] };
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let n = 0; Date.now() < deadline; n++) {
        const k = (c * 7 + n) % texts.length;
        const inputs = n % 3 === 0 ? [texts[k], texts[(k + 5) % texts.length], texts[(k + 11) % texts.length]] : [texts[k]];
        const r = await request(server.port, agent, { input: inputs });
        if (r.status !== 200) {
          counts.bad.push(`${r.status} ${r.error ?? r.text.slice(0, 200)}`);
          continue;
        }
        checkVectors(r, inputs);
        counts.ok++;
      }
      agent.destroy();
    }),
  );
  assert.deepEqual(counts.bad.slice(0, 5), [], `${counts.bad.length} requests not served`);
  assert.ok(counts.ok > CLIENTS, `only ${counts.ok} requests`);
  t.diagnostic(`sustained: ${counts.ok} requests in ${SECONDS} s (${(counts.ok / SECONDS).toFixed(0)}/s)`);
});

test(`burst of ${BURST} simultaneous requests: only 200 and 429, no 5xx, no dropped connection`, async (t) => {
  const results = await Promise.all(
    Array.from({ length: BURST }, (_, i) => {
      const inputs = [texts[i % texts.length]];
      return request(server.port, false, { input: inputs }).then((r) => ({ r, inputs }));
    }),
  );
  const byStatus = {};
  for (const { r, inputs } of results) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.status === 200) checkVectors(r, inputs);
    if (r.status === 429) {
      assert.equal(r.retryAfter, "1");
      assert.match(JSON.parse(r.text).error.message, /concurrent requests/);
    }
  }
  t.diagnostic(`burst: ${JSON.stringify(byStatus)}`);
  assert.deepEqual(Object.keys(byStatus).filter((s) => s !== "200" && s !== "429"), [],
    `unexpected outcomes ${JSON.stringify(byStatus)}`);
  assert.ok(byStatus[200] > 0);
});

test("healthy afterwards, peak RSS under 1 GB", async (t) => {
  const r = await request(server.port, false, { input: [texts[0]] });
  assert.equal(r.status, 200);
  checkVectors(r, [texts[0]]);
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /status="5\d\d"/);
  const peak = peakRssBytes(server.proc.pid);
  t.diagnostic(`peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(peak > 0 && peak < 2 ** 30, `peak RSS ${peak} bytes`);
});
