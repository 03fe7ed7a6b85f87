// TEI (/embed, /tokenize, /info), Ollama (/api/embed), and operations (/health, /metrics, request log lines,
// flags from QEMBED_* environment variables).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { cosine, get, post, startServer } from "./server_helpers.mjs";

let server, url;
before(async () => {
  server = await startServer([], {
    env: { QEMBED_SERVED_MODEL_NAME: "from-env", QEMBED_MAX_BATCH_TOKENS: "2048", QEMBED_PROMPT: "a=A: x, y,b=B:",
      QEMBED_MAX_INPUT_TOKENS: "512" },
  });
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test("TEI POST /embed: [[...]] matching /v1/embeddings; normalize, dimensions, prompt_name", async () => {
  const r = await post(`${url}/embed`, { inputs: ["one", "two"] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.length, 2);
  const o = await post(`${url}/v1/embeddings`, { input: ["one", "two"] });
  for (let i = 0; i < 2; i++) assert.ok(cosine(r.body[i], o.body.data[i].embedding) > 0.999999);
  const single = await post(`${url}/embed`, { inputs: "one", normalize: false, dimensions: 32 });
  assert.equal(single.body.length, 1);
  assert.equal(single.body[0].length, 32);
  assert.ok(Math.abs(norm(single.body[0]) - 1) > 1e-3);
  const q = await post(`${url}/embed`, { inputs: "one", prompt_name: "query" });
  const qo = await post(`${url}/v1/embeddings`, { input: "one", prompt_name: "query" });
  assert.ok(cosine(q.body[0], qo.body.data[0].embedding) > 0.999999);
});

test("prompts from QEMBED_PROMPT (commas inside a prompt survive)", async () => {
  const a = await post(`${url}/embed`, { inputs: "text", prompt_name: "a" });
  const aManual = await post(`${url}/embed`, { inputs: "A: x, y" + "text" });
  const b = await post(`${url}/embed`, { inputs: "text", prompt_name: "b" });
  const bManual = await post(`${url}/embed`, { inputs: "B:text" });
  assert.equal(a.status, 200, a.text);
  assert.ok(cosine(a.body[0], aManual.body[0]) > 0.99999);
  assert.ok(cosine(b.body[0], bManual.body[0]) > 0.99999);
});

test("TEI POST /tokenize: ids, texts, special flags and byte offsets", async () => {
  const r = await post(`${url}/tokenize`, { inputs: ["hello world", "héllo"] });
  assert.equal(r.status, 200, r.text);
  const [a, b] = r.body;
  assert.deepEqual(a.map((t) => t.id), [14990, 1879, 151643]);
  assert.deepEqual(a.map((t) => t.text), ["hello", " world", "<|endoftext|>"]);
  assert.deepEqual(a.map((t) => t.special), [false, false, true]);
  assert.deepEqual(a.map((t) => [t.start, t.stop]), [[0, 5], [5, 11], [11, 11]]);
  assert.equal(b.at(-2).stop, Buffer.byteLength("héllo"));
  const plain = await post(`${url}/tokenize`, { inputs: "hello world", add_special_tokens: false });
  assert.equal(plain.body[0].length, 2);
});

test("TEI GET /info", async () => {
  const r = await get(`${url}/info`);
  assert.equal(r.status, 200);
  assert.equal(r.body.model_id, "from-env");
  assert.equal(r.body.max_batch_tokens, 2048);
  assert.equal(r.body.max_input_length, 512);
  assert.equal(r.body.max_client_batch_size, 2048);
  assert.equal(r.body.max_concurrent_requests, 512);
  assert.equal(r.body.embedding_dimensions, 256);
  assert.equal(typeof r.body.version, "string");
});

test("Ollama POST /api/embed", async () => {
  const r = await post(`${url}/api/embed`, { model: "from-env", input: ["one", "two"] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.model, "from-env");
  assert.equal(r.body.embeddings.length, 2);
  assert.ok(Math.abs(norm(r.body.embeddings[0]) - 1) < 1e-5);
  assert.ok(Number.isInteger(r.body.total_duration) && r.body.total_duration > 0);
  assert.ok(Number.isInteger(r.body.load_duration));
  assert.equal(r.body.prompt_eval_count, 4);
  const o = await post(`${url}/v1/embeddings`, { input: "one" });
  assert.ok(cosine(r.body.embeddings[0], o.body.data[0].embedding) > 0.999999);
  // Ollama truncates by default.
  const long = await post(`${url}/api/embed`, { input: "word ".repeat(5000), dimensions: 64 });
  assert.equal(long.status, 200, long.text);
  assert.equal(long.body.prompt_eval_count, 512);
  assert.equal(long.body.embeddings[0].length, 64);
});

test("GET /health 200 when ready", async () => {
  const r = await get(`${url}/health`);
  assert.equal(r.status, 200);
});

test("GET /metrics: Prometheus text with counters, histograms and gauges", async () => {
  await post(`${url}/v1/embeddings`, { input: ["m1", "m2"] });
  await post(`${url}/v1/embeddings`, { input: "" });
  const r = await get(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /text\/plain/);
  const t = r.text;
  assert.match(t, /qembed_requests_total\{endpoint="\/v1\/embeddings",status="200"\} \d+/);
  assert.match(t, /qembed_requests_total\{endpoint="\/v1\/embeddings",status="400"\} \d+/);
  for (const h of ["request_duration_seconds", "request_queue_duration_seconds",
    "request_tokenization_duration_seconds", "request_inference_duration_seconds", "request_input_length_tokens",
    "batch_size", "batch_tokens"]) {
    assert.match(t, new RegExp(`# TYPE qembed_${h} histogram`));
    assert.match(t, new RegExp(`qembed_${h}_bucket\\{le="\\+Inf"\\} [1-9]`), h);
    assert.match(t, new RegExp(`qembed_${h}_count [1-9]`), h);
  }
  for (const g of ["queue_size", "requests_running", "requests_waiting", "tokens_total", "resident_memory_bytes"]) {
    assert.match(t, new RegExp(`^qembed_${g} \\d`, "m"), g);
  }
  const rss = Number(t.match(/^qembed_resident_memory_bytes (\S+)/m)[1]);
  assert.ok(rss > 1e6);
  assert.ok(Number(t.match(/^qembed_tokens_total (\S+)/m)[1]) >= 4);
});

test("one log line per request on stderr (id, status, inputs, tokens, queue ms, compute ms)", async () => {
  await post(`${url}/v1/embeddings`, { input: ["log me", "and me"] });
  const lines = server.stderr().split("\n").filter((l) => l.includes("POST /v1/embeddings 200 inputs=2"));
  assert.ok(lines.length >= 1, server.stderr());
  assert.match(lines.at(-1), /request id=\S+ .* tokens=\d+ tokenize_ms=[\d.]+ queue_ms=[\d.]+ compute_ms=[\d.]+/);
});

test("--log-format json: one JSON object per request", async () => {
  const s = await startServer(["--log-format", "json"]);
  try {
    await post(`${s.url}/v1/embeddings`, { input: "json log" });
    const line = s.stderr().split("\n").find((l) => l.startsWith("{") && l.includes("/v1/embeddings"));
    const j = JSON.parse(line);
    assert.equal(j.status, 200);
    assert.equal(j.inputs, 1);
    assert.equal(j.tokens, 3);
    for (const k of ["id", "queue_ms", "compute_ms", "total_ms"]) assert.ok(k in j, k);
  } finally {
    await s.stop();
  }
});
