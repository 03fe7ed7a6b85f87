// Latency under load through HTTP (docs/design.md, "Scheduling"): a short query sent while a long bulk request is
// being computed is answered between two steps of the bulk batch instead of after it, and admission counts the
// work of long inputs (attention is quadratic), not only their tokens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, get, metric, post, sleep, startServer } from "./server_helpers.mjs";

// About 3,960 tokens of the tiny model (context 4096); four of them fill one 16,384-token batch.
const LONG = "alpha beta gamma delta epsilon zeta eta theta iota kappa ".repeat(360);

test("a short query is answered while a long bulk batch is computing, not after it", async () => {
  const s = await startServer(["--max-queue-tokens", "1000000", "--payload-limit", "20000000"]);
  try {
    const t0 = performance.now();
    let bulkDoneAt = 0;
    const bulk = post(`${s.url}/v1/embeddings`, { input: Array.from({ length: 4 }, (_, i) => `${i} ${LONG}`) }).then(
      (r) => {
        bulkDoneAt = performance.now();
        return r;
      },
    );
    // Wait until the bulk batch is running.
    for (let i = 0; i < 2000; i++) {
      if (metric((await get(`${s.url}/metrics`)).text, "qembed_requests_running") >= 1) break;
      await sleep(2);
    }
    const q0 = performance.now();
    const q = await post(`${s.url}/v1/embeddings`, { input: "what is the capital of France", prompt_name: "query" });
    const queryMs = performance.now() - q0;
    assert.equal(q.status, 200, q.text);
    const b = await bulk;
    assert.equal(b.status, 200, b.text);
    const bulkMs = bulkDoneAt - t0;
    assert.ok(bulkDoneAt === 0 || q0 + queryMs < bulkDoneAt, "the query was answered before the bulk request");
    assert.ok(queryMs < bulkMs / 3, `the query took ${queryMs.toFixed(0)} ms, the bulk request ${bulkMs.toFixed(0)} ms`);
    const m = (await get(`${s.url}/metrics`)).text;
    assert.ok(metric(m, "qembed_preemptions_total") >= 1, "the query ran between two steps of the bulk batch");
    assert.ok(metric(m, "qembed_interactive_requests_total") >= 1);
    assert.ok(metric(m, "qembed_compute_rate") > 0, "bulk steps measure the compute rate");
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("--interactive-max-tokens 0 puts every request in one class (the query waits for the batch)", async () => {
  const s = await startServer([
    "--max-queue-tokens", "1000000", "--payload-limit", "20000000", "--interactive-max-tokens", "0",
  ]);
  try {
    const bulk = post(`${s.url}/v1/embeddings`, { input: Array.from({ length: 4 }, (_, i) => `${i} ${LONG}`) });
    for (let i = 0; i < 2000; i++) {
      if (metric((await get(`${s.url}/metrics`)).text, "qembed_requests_running") >= 1) break;
      await sleep(2);
    }
    assert.equal((await post(`${s.url}/v1/embeddings`, { input: "a query" })).status, 200);
    assert.equal((await bulk).status, 200);
    const m = (await get(`${s.url}/metrics`)).text;
    assert.equal(metric(m, "qembed_preemptions_total"), 0);
    assert.equal(metric(m, "qembed_interactive_requests_total"), 0);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("admission counts the work of long inputs: --max-queue-work gives 429 while tokens would fit, 413 when never", async () => {
  // One 3,960-token input weighs about 3x its tokens on the tiny shape; the work bound leaves room for one.
  // No embedding cache: a cached LONG would not be queued, and this is about the work that is.
  const s = await startServer([
    "--max-queue-tokens", "1000000", "--max-queue-work", "15000", "--payload-limit", "20000000", "--cache-mb", "0",
  ]);
  try {
    const first = post(`${s.url}/v1/embeddings`, { input: [LONG] });
    for (let i = 0; i < 2000; i++) {
      if (metric((await get(`${s.url}/metrics`)).text, "qembed_admitted_work") > 0) break;
      await sleep(1);
    }
    const second = await post(`${s.url}/v1/embeddings`, { input: [LONG] });
    const r1 = await first;
    assert.equal(r1.status, 200, r1.text);
    if (second.status !== 200) {
      // Unless the first one already finished, the second one does not fit the work bound.
      assertApiError(assert, second, 429, /queue is full/);
      assert.match(second.headers.get("retry-after") ?? "", /^\d+$/);
    }
    const tooBig = await post(`${s.url}/v1/embeddings`, { input: [LONG, LONG] });
    assertApiError(assert, tooBig, 413, /token-equivalents of work.*--max-queue-work/);
    // Many short inputs with more tokens in all are fine: they weigh about their tokens.
    const short = Array.from({ length: 400 }, (_, i) => `short text number ${i}`);
    assert.equal((await post(`${s.url}/v1/embeddings`, { input: short })).status, 200);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});
