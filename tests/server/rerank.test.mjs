// Reranking over HTTP with a tiny synthetic Qwen3-Reranker: POST /v1/rerank (Cohere / Jina shape, as Open WebUI's
// external reranker, LangChain and LlamaIndex send it) and TEI's POST /rerank — shapes, ordering, top_n, echoed
// texts, raw scores, the same score whatever the dialect, the order or the company of a document, every error in
// its dialect, backpressure, and servers with both models, only the reranker, or only the embedding model.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { QEMBED, model, tinyGguf } from "../cli/helpers.mjs";
import { assertApiError, assertOllamaError, assertTeiError, get, post, sleep, startServer } from "./server_helpers.mjs";

const RR_FILE = "rr-tiny-F32.gguf";
const RR_ID = path.basename(RR_FILE, ".gguf");
const EMBED_ID = path.basename(tinyGguf(), ".gguf");
const reranker = () =>
  model(RR_FILE, ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--reranker", "--seed", "5"]);

const QUERY = "what do pandas eat?";
const DOCS = [
  "The giant panda eats bamboo almost exclusively.",
  "Paris is the capital of France.",
  "Pandas are bears that live in the mountains of China.",
  "A recipe for bread: flour, water, salt and yeast.",
  "Bamboo shoots and leaves make up most of a panda's diet.",
];
const LONG = "lorem ipsum dolor sit amet ".repeat(80);
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

let both; // --model tiny + --reranker-model rr
before(async () => {
  both = await startServer(["--reranker-model", reranker(), "--max-client-batch-size", "8", "--max-input-tokens",
                            "128"]);
});
after(async () => {
  if (both) assert.equal((await both.stop()).code, 0);
});

/** Scores by document index from a /v1/rerank response. */
const byIndex = (results) => Object.fromEntries(results.map((r) => [r.index, r.relevance_score]));

test("POST /v1/rerank: Cohere / Jina shape, best first, every document once", async () => {
  const r = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS }, { "x-request-id": "rr-req-1" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ["id", "meta", "model", "results", "usage"]);
  assert.equal(r.body.id, "rr-req-1");
  assert.equal(r.body.model, RR_ID);
  assert.equal(r.body.results.length, DOCS.length);
  assert.deepEqual(r.body.results.map((x) => x.index).sort(), [0, 1, 2, 3, 4]);
  for (let i = 0; i < r.body.results.length; i++) {
    const x = r.body.results[i];
    assert.deepEqual(Object.keys(x).sort(), ["index", "relevance_score"]);  // return_documents defaults to false
    assert.ok(x.relevance_score >= 0 && x.relevance_score <= 1, String(x.relevance_score));
    if (i) assert.ok(r.body.results[i - 1].relevance_score >= x.relevance_score, "sorted best first");
  }
  assert.ok(r.body.usage.prompt_tokens > 0);
  assert.equal(r.body.usage.total_tokens, r.body.usage.prompt_tokens);
  assert.deepEqual(r.body.meta, { truncated_documents: [] });
});

test("POST /v1/rerank: top_n, return_documents, {text} objects, the model field, Open WebUI's request", async () => {
  const all = (await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS })).body.results;
  const top2 = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: 2, return_documents: true });
  assert.equal(top2.status, 200, top2.text);
  assert.deepEqual(top2.body.results.map((x) => x.index), all.slice(0, 2).map((x) => x.index));
  for (const x of top2.body.results) assert.deepEqual(x.document, { text: DOCS[x.index] });
  // More than the documents: all of them, as Cohere does (LangChain's CohereRerank asks for 3 of however many).
  assert.equal((await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: 50 })).body.results.length,
               DOCS.length);
  const objects = await post(`${both.url}/v1/rerank`, {
    query: QUERY, documents: DOCS.map((text) => ({ text })), return_documents: true, model: RR_ID,
  });
  assert.equal(objects.status, 200, objects.text);
  assert.deepEqual(byIndex(objects.body.results), byIndex(all));
  // Open WebUI's external reranker: {model, query, documents, top_n: len(documents)}, with a Bearer header.
  const owui = await post(`${both.url}/v1/rerank`, { model: RR_ID, query: QUERY, documents: DOCS, top_n: DOCS.length },
                          { authorization: "Bearer " });
  assert.equal(owui.status, 200, owui.text);
  assert.deepEqual(byIndex(owui.body.results), byIndex(all));
});

test("POST /rerank (TEI): [{index, score, text?}] best first; raw_scores is the logit of the same score", async () => {
  const v1 = byIndex((await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS })).body.results);
  const tei = await post(`${both.url}/rerank`, { query: QUERY, texts: DOCS });
  assert.equal(tei.status, 200, tei.text);
  assert.ok(Array.isArray(tei.body));
  assert.equal(tei.body.length, DOCS.length);
  for (let i = 0; i < tei.body.length; i++) {
    const x = tei.body[i];
    assert.deepEqual(Object.keys(x).sort(), ["index", "score"]);
    assert.equal(x.score, v1[x.index], "the same score in both dialects");
    if (i) assert.ok(tei.body[i - 1].score >= x.score);
  }
  const raw = await post(`${both.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true, return_text: true });
  assert.equal(raw.status, 200, raw.text);
  assert.deepEqual(raw.body.map((x) => x.index), tei.body.map((x) => x.index));
  for (const x of raw.body) {
    assert.equal(x.text, DOCS[x.index]);
    assert.ok(Math.abs(sigmoid(x.score) - v1[x.index]) <= 1e-12, `sigmoid(${x.score}) vs ${v1[x.index]}`);
  }
  // Open WebUI's TEI format: {query, texts, truncate: true}.
  assert.equal((await post(`${both.url}/rerank`, { query: QUERY, texts: DOCS, truncate: true })).status, 200);
});

test("a document's score does not depend on the order or the company of the others", async () => {
  const base = byIndex((await post(`${both.url}/v1/rerank`, { query: QUERY, documents: DOCS })).body.results);
  const order = [3, 0, 4, 2, 1];
  const shuffled = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: order.map((i) => DOCS[i]) });
  for (const x of shuffled.body.results) assert.equal(x.relevance_score, base[order[x.index]], `document ${order[x.index]}`);
  for (let i = 0; i < DOCS.length; i++) {
    const alone = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: [DOCS[i]] });
    assert.equal(alone.status, 200, alone.text);
    assert.equal(alone.body.results[0].relevance_score, base[i], `document ${i} alone vs in a batch`);
  }
  // Concurrent requests share batches: still the same scores.
  const many = await Promise.all(DOCS.map((d) => post(`${both.url}/rerank`, { query: QUERY, texts: [d, DOCS[0]] })));
  many.forEach((r, i) => {
    const mine = r.body.find((x) => x.index === 0);
    assert.equal(mine.score, base[i], `document ${i} in concurrent requests`);
  });
});

test("truncation: a long document loses its end and is listed in meta; without truncate it is refused", async () => {
  const r = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: [DOCS[0], LONG] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.meta.truncated_documents, [1]);
  assertApiError(assert, await post(`${both.url}/v1/rerank`, { query: QUERY, documents: [DOCS[0], LONG], truncate: false }),
                 400, /^documents\[1\] has \d+ tokens with the query and template, the limit is 128/);
  // max_tokens_per_doc cuts lower than the server's limit (it counts the query and template too).
  const whole = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: [DOCS[0]] });
  const n = whole.body.usage.total_tokens;
  const cut = await post(`${both.url}/v1/rerank`, { query: QUERY, documents: [DOCS[0]], max_tokens_per_doc: n - 1 });
  assert.equal(cut.status, 200, cut.text);
  assert.deepEqual(cut.body.meta.truncated_documents, [0]);
  assert.equal(cut.body.usage.total_tokens, n - 1);
  // TEI: truncate defaults to --auto-truncate (off): 422 as /embed answers an input over the limit.
  assertTeiError(assert, await post(`${both.url}/rerank`, { query: QUERY, texts: [LONG] }), 422, "Validation",
                 /^texts\[0\] has \d+ tokens.*"truncate": true/);
  assert.equal((await post(`${both.url}/rerank`, { query: QUERY, texts: [LONG], truncate: true })).status, 200);
});

test("POST /v1/rerank errors: OpenAI shape, status and a message naming the field", async () => {
  const url = `${both.url}/v1/rerank`;
  const cases = [
    [{ documents: DOCS }, 400, /^missing required field query$/],
    [{ query: "", documents: DOCS }, 400, /^query is an empty string$/],
    [{ query: 3, documents: DOCS }, 400, /^query must be a string, got integer$/],
    [{ query: QUERY }, 400, /^missing required field documents$/],
    [{ query: QUERY, documents: [] }, 400, /^documents is an empty list$/],
    [{ query: QUERY, documents: "one" }, 400, /^documents must be an array/],
    [{ query: QUERY, documents: ["a", 7] }, 400, /^documents\[1\] must be a string or an object with a string "text", got integer$/],
    [{ query: QUERY, documents: ["a", { title: "x" }] }, 400, /^documents\[1\] must have a string "text"/],
    [{ query: QUERY, documents: ["a", ""] }, 400, /^documents\[1\] is an empty string$/],
    [{ query: QUERY, documents: Array(9).fill("a") }, 413, /^documents has 9 items, the limit is 8 \(--max-client-batch-size\)$/],
    [{ query: QUERY, documents: DOCS, top_n: 0 }, 400, /^top_n must be at least 1, got 0$/],
    [{ query: QUERY, documents: DOCS, top_n: -2 }, 400, /^top_n must be at least 1, got -2$/],
    [{ query: QUERY, documents: DOCS, top_n: "2" }, 400, /^top_n must be an integer, got string$/],
    [{ query: QUERY, documents: DOCS, top_n: 1.5 }, 400, /^top_n must be an integer, got number$/],
    [{ query: QUERY, documents: DOCS, return_documents: "yes" }, 400, /^return_documents must be a boolean/],
    [{ query: QUERY, documents: DOCS, instruction: "" }, 400, /^instruction is an empty string/],
    [{ query: QUERY, documents: DOCS, max_tokens_per_doc: 0 }, 400, /^max_tokens_per_doc must be at least 1, got 0$/],
    [{ query: QUERY, documents: DOCS, model: EMBED_ID }, 400, new RegExp(`^'${EMBED_ID}' is an embedding model, not a reranker`)],
    [{ query: QUERY, documents: DOCS, model: "rerank-english-v3.0" }, 404, /^model "rerank-english-v3.0" does not exist; this server reranks with "rr-tiny-F32"$/],
  ];
  for (const [body, status, pattern] of cases) {
    const r = await post(url, body);
    assertApiError(assert, r, status, pattern);
  }
  const param = (await post(url, { query: QUERY, documents: ["a", 7] })).body.error.param;
  assert.equal(param, "documents");
  assertApiError(assert, await post(url, "{not json"), 400, /^invalid JSON body/);
  assertApiError(assert, await post(url, "[1]"), 400, /must be a JSON object/);
});

test("POST /rerank errors: TEI shape and statuses", async () => {
  const url = `${both.url}/rerank`;
  assertTeiError(assert, await post(url, { texts: DOCS }), 422, "Validation", /^missing required field query$/);
  assertTeiError(assert, await post(url, { query: "", texts: DOCS }), 422, "Validation", /^query is an empty string$/);
  assertTeiError(assert, await post(url, { query: QUERY, texts: [] }), 422, "Validation", /^texts is an empty list$/);
  assertTeiError(assert, await post(url, { query: QUERY, texts: [{ text: "a" }] }), 422, "Validation",
                 /^texts\[0\] must be a string, got object$/);
  assertTeiError(assert, await post(url, { query: QUERY, texts: Array(9).fill("a") }), 413, "Validation",
                 /^texts has 9 items, the limit is 8/);
  assertTeiError(assert, await post(url, { query: QUERY, texts: DOCS, truncation_direction: "Left" }), 422, "Validation",
                 /"Left" is not supported by the reranker/);
  assertTeiError(assert, await post(url, { query: QUERY, texts: DOCS, raw_scores: 1 }), 422, "Validation",
                 /^raw_scores must be a boolean/);
  assertTeiError(assert, await post(url, "{"), 400, "Validation", /^invalid JSON body/);
});

test("both models: /v1/models lists each with its role; the embedding routes refuse the reranker's id", async () => {
  const models = await get(`${both.url}/v1/models`);
  assert.equal(models.status, 200);
  assert.deepEqual(models.body.data.map((m) => [m.id, m.role]), [[EMBED_ID, "embedding"], [RR_ID, "reranker"]]);
  for (const m of models.body.data) assert.equal(m.object, "model");
  assert.equal((await get(`${both.url}/v1/models/${RR_ID}`)).body.role, "reranker");
  assert.equal((await get(`${both.url}/v1/models/${EMBED_ID}`)).body.role, "embedding");
  assertApiError(assert, await post(`${both.url}/v1/embeddings`, { input: "x", model: RR_ID }), 400,
                 new RegExp(`^'${RR_ID}' is a reranker, not an embedding model`));
  assert.equal((await post(`${both.url}/v1/embeddings`, { input: "x" })).status, 200);
  const tags = await get(`${both.url}/api/tags`);
  assert.deepEqual(tags.body.models.map((m) => m.name), [`${EMBED_ID}:latest`, `${RR_ID}:latest`]);
  const info = (await get(`${both.url}/info`)).body;
  assert.equal(info.model_id, EMBED_ID);
  assert.equal(info.reranker.model_id, RR_ID);
  assert.ok(info.reranker.model_type.reranker);
  assert.match(both.stderr(), new RegExp(`serving reranker id "${RR_ID}"`));
  assert.match(both.stderr(), /memory bound \d+ MiB = .* \+ reranker \d+ \(weights/);
  const metrics = (await get(`${both.url}/metrics`)).text;
  assert.match(metrics, /^qembed_requests_total\{endpoint="\/v1\/rerank",status="200"\} \d+$/m);
  assert.match(metrics, /^qembed_requests_total\{endpoint="\/rerank",status="200"\} \d+$/m);
  const docs = Number(metrics.match(/^qembed_rerank_documents_total (\d+)$/m)?.[1]);
  assert.ok(docs > 0, "reranked documents are counted");
  const openapi = (await get(`${both.url}/openapi.json`)).body;
  assert.ok(openapi.paths["/v1/rerank"]?.post && openapi.paths["/rerank"]?.post);
});

test("reranker only: embedding routes answer 400 in their dialect; rerank, models and info work", async () => {
  const s = await startServer(["--reranker-model", reranker(), "--reranker-served-name", "my-reranker",
                               "--max-queue-tokens", "3000", "--max-input-tokens", "128", "--max-batch-tokens", "256"],
                              { model: null });
  try {
    const refusal = /^this server serves no embedding model, only the reranker 'my-reranker'/;
    assertApiError(assert, await post(`${s.url}/v1/embeddings`, { input: "x" }), 400, refusal);
    assertTeiError(assert, await post(`${s.url}/embed`, { inputs: "x" }), 400, "Validation", refusal);
    assertOllamaError(assert, await post(`${s.url}/api/embed`, { input: "x" }), 400, refusal);
    const models = await get(`${s.url}/v1/models`);
    assert.deepEqual(models.body.data.map((m) => [m.id, m.role]), [["my-reranker", "reranker"]]);
    const info = (await get(`${s.url}/info`)).body;
    assert.equal(info.model_id, "my-reranker");
    assert.ok(info.model_type.reranker, JSON.stringify(info.model_type));
    assert.equal(info.embedding_dimensions, null);
    const r = await post(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS, model: "my-reranker" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.model, "my-reranker");
    assert.equal((await get(`${s.url}/health`)).status, 200);

    // Backpressure as for embeddings: larger than the whole queue is 413; a full queue is 429 with Retry-After.
    const many = Array.from({ length: 60 }, (_, i) => `document number ${i} about pandas and bamboo, somewhat long`);
    assertApiError(assert, await post(`${s.url}/v1/rerank`, { query: QUERY, documents: many }), 413,
                   /the server queues at most 3000 tokens.*split it/);
    const half = many.slice(0, 30);
    const first = post(`${s.url}/v1/rerank`, { query: QUERY, documents: half });
    for (let i = 0; i < 2000; i++) {
      if (/^qembed_rerank_admitted_work [1-9]/m.test((await get(`${s.url}/metrics`)).text)) break;
      await sleep(1);
    }
    const second = await post(`${s.url}/rerank`, { query: QUERY, texts: half });
    assert.equal((await first).status, 200);
    if (second.status !== 200) {
      // Unless the first one already finished, the second one does not fit the queue.
      assertTeiError(assert, second, 429, "Overloaded", /queue is full/);
      assert.match(second.headers.get("retry-after") ?? "", /^\d+$/);
    }
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("embedding model only: the rerank routes answer 404 'no reranker is loaded'", async () => {
  const s = await startServer();
  try {
    const message = /^no reranker is loaded: start the server with --reranker-model$/;
    assertApiError(assert, await post(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS }), 404, message);
    assertTeiError(assert, await post(`${s.url}/rerank`, { query: QUERY, texts: DOCS }), 404, "NotFound", message);
    const models = await get(`${s.url}/v1/models`);
    assert.deepEqual(models.body.data.map((m) => [m.id, m.role]), [[EMBED_ID, "embedding"]]);
    assert.equal((await get(`${s.url}/info`)).body.reranker, null);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("roles: admin and embed keys may rerank, a search key gets 403 in the route's dialect", async () => {
  const s = await startServer(["--reranker-model", reranker(), "--api-key", "adm-key:admin", "--api-key",
                               "emb-key:embed", "--api-key", "sea-key:search"], { model: null });
  try {
    const auth = (key) => ({ authorization: `Bearer ${key}` });
    for (const key of ["adm-key", "emb-key"]) {
      assert.equal((await post(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS }, auth(key))).status, 200, key);
      assert.equal((await post(`${s.url}/rerank`, { query: QUERY, texts: DOCS }, auth(key))).status, 200, key);
    }
    assertApiError(assert, await post(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS }, auth("sea-key")), 403,
                   /may not call \/v1\/rerank/);
    assertTeiError(assert, await post(`${s.url}/rerank`, { query: QUERY, texts: DOCS }, auth("sea-key")), 403,
                   "Forbidden", /may not call \/rerank/);
    assertApiError(assert, await post(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS }), 401, /missing API key/);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("a long query times many documents is refused before it is tokenized (413 naming the numbers)", async () => {
  const s = await startServer(["--reranker-model", reranker(), "--payload-limit", "4096"], { model: null });
  try {
    // 2,000 bytes of query x 40 documents = 80,000 bytes of text, over 16 x 4,096.
    const r = await post(`${s.url}/v1/rerank`, { query: "q".repeat(2000), documents: Array(40).fill("d") });
    assertApiError(assert, r, 413, /^the query \(2000 bytes\) is scored with each of the 40 documents: 80000 bytes to tokenize, over the limit of 65536/);
    assert.equal((await post(`${s.url}/v1/rerank`, { query: "q".repeat(2000), documents: ["d", "e"] })).status, 200);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("serve refuses configurations that cannot work, before loading anything", () => {
  const serve = (...args) => spawnSync(QEMBED, ["serve", "--port", "0", ...args], { encoding: "utf8", timeout: 30_000 });
  const none = serve();
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /give --model M \(an embedding model\), --reranker-model R \(a Qwen3-Reranker\), or both/);
  const kb = serve("--reranker-model", reranker(), "--kb", "/tmp/qembed-rerank-test-unused.sqlite");
  assert.notEqual(kb.status, 0);
  assert.match(kb.stderr, /--kb needs an embedding model \(--model M\)/);
  const orphan = serve("--model", tinyGguf(), "--reranker-threads", "2");
  assert.notEqual(orphan.status, 0);
  assert.match(orphan.stderr, /--reranker-served-name and --reranker-threads need --reranker-model R/);
});
