// The scheduler through HTTP: results never depend on batching, a big request does not starve a small one queued
// behind it, and work of a client that disconnected is dropped.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { cosine, get, post, sleep, startServer } from "./server_helpers.mjs";

let server, url;
before(async () => {
  // A small token budget so concurrent requests share batches and big requests span many batches.
  server = await startServer(["--max-batch-tokens", "512", "--max-queue-tokens", "1000000"]);
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

const E = () => `${url}/v1/embeddings`;

function text(i) {
  return `document ${i}: ` + "lorem ipsum dolor sit amet ".repeat(1 + (i * 7) % 13);
}

test("batch invariance: a text alone == inside a mixed request == among concurrent requests", async () => {
  const probe = "the probe sentence whose vector must not change";
  const alone = (await post(E(), { input: probe })).body.data[0].embedding;
  const mixed = [text(1), text(2), probe, text(3), "x", text(4)];
  const inBatch = (await post(E(), { input: mixed })).body.data[2].embedding;
  assert.ok(cosine(alone, inBatch) >= 0.99999, `mixed request: ${cosine(alone, inBatch)}`);
  const concurrent = await Promise.all(
    Array.from({ length: 24 }, (_, i) => post(E(), { input: i % 4 === 0 ? [text(i), probe] : [text(i), text(i + 1)] })),
  );
  for (let i = 0; i < 24; i += 4) {
    assert.equal(concurrent[i].status, 200);
    const v = concurrent[i].body.data[1].embedding;
    assert.ok(cosine(alone, v) >= 0.99999, `concurrent ${i}: ${cosine(alone, v)}`);
  }
  const m = (await get(`${url}/metrics`)).text;
  const batches = Number(m.match(/^qembed_batch_size_count (\d+)/m)[1]);
  const inputs = Number(m.match(/^qembed_inputs_total (\d+)/m)[1]);
  assert.ok(batches < inputs, `inputs were batched together (${inputs} inputs in ${batches} batches)`);
});

test("a short request behind a large one is not starved", async () => {
  const big = Array.from({ length: 600 }, (_, i) => text(i));
  let bigDone = false;
  const bigReq = post(E(), { input: big }).then((r) => {
    bigDone = true;
    return r;
  });
  await sleep(200); // the big request is queued and computing
  const t0 = Date.now();
  const small = await post(E(), { input: "a short query" });
  const smallMs = Date.now() - t0;
  assert.equal(small.status, 200);
  assert.equal(bigDone, false, "the small request finished only after the big one");
  const r = await bigReq;
  assert.equal(r.status, 200);
  assert.equal(r.body.data.length, 600);
  assert.deepEqual(r.body.data.slice(0, 5).map((d) => d.index), [0, 1, 2, 3, 4]);
  assert.ok(smallMs < 5000, `small request took ${smallMs} ms`);
});

test("a request whose client disconnected is dropped before compute", async () => {
  const before = Number((await get(`${url}/metrics`)).text.match(/^qembed_inputs_total (\d+)/m)[1]);
  const ac = new AbortController();
  const big = Array.from({ length: 2000 }, (_, i) => text(i));
  const p = fetch(E(), { method: "POST", body: JSON.stringify({ input: big }), signal: ac.signal,
    headers: { "content-type": "application/json" } }).catch((e) => e);
  await sleep(250);
  ac.abort();
  await p;
  // Wait for the server to notice and log it.
  for (let i = 0; i < 100 && !/POST \/v1\/embeddings 499/.test(server.stderr()); i++) await sleep(50);
  assert.match(server.stderr(), /POST \/v1\/embeddings 499 inputs=2000/);
  const afterInputs = Number((await get(`${url}/metrics`)).text.match(/^qembed_inputs_total (\d+)/m)[1]);
  assert.ok(afterInputs - before < 2000, `only part of the request was computed (${afterInputs - before})`);
  assert.equal((await post(E(), { input: "after the disconnect" })).status, 200);
});
