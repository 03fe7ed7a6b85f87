// What real clients of each dialect rely on beyond the basics: TEI's root POST and /invocations, TEI and Ollama
// error shapes and statuses, Ollama's name:latest, legacy /api/embeddings, /api/tags and /api/version, and the
// default model id (the model file's name) in every `model` field.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertApiError, assertOllamaError, assertTeiError, cosine, get, post, startServer } from "./server_helpers.mjs";

let server, url;
const ID = "tiny-F32"; // build/test-models/tiny-F32.gguf without its extension
before(async () => {
  server = await startServer(["--max-input-tokens", "64", "--max-client-batch-size", "4"]);
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

test("model id: the file name by default, printed at start-up, in /v1/models and accepted in model fields", async () => {
  assert.match(server.stderr(), new RegExp(`serving model id "${ID}"`));
  const models = await get(`${url}/v1/models`);
  assert.deepEqual(models.body.data.map((m) => m.id), [ID]);
  assert.equal((await get(`${url}/v1/models/${ID}`)).body.id, ID);
  assertApiError(assert, await get(`${url}/v1/models/other`), 404, /model "other" does not exist/);
  const ok = await post(`${url}/v1/embeddings`, { model: ID, input: "x" });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.model, ID);
  const other = await post(`${url}/v1/embeddings`, { model: "text-embedding-ada-002", input: "x" });
  assertApiError(assert, other, 404, /model "text-embedding-ada-002" does not exist; this server serves "tiny-F32"/);
  assert.equal(other.body.error.code, "model_not_found");
  assert.equal((await get(`${url}/info`)).body.model_id, ID);
});

test("TEI: POST / and POST /invocations embed like /embed", async () => {
  const inputs = ["root one", "root two"];
  const embed = await post(`${url}/embed`, { inputs });
  for (const path of ["/", "/invocations"]) {
    const r = await post(`${url}${path}`, { inputs });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.equal(r.body.length, 2);
    for (let i = 0; i < 2; i++) assert.ok(cosine(r.body[i], embed.body[i]) > 0.999999, path);
  }
  assertTeiError(assert, await post(`${url}/`, { inputs: "" }), 422, "Validation", /inputs is an empty string/);
});

test("TEI errors: {error, error_type} with 413, 422, 404, 405 and 400", async () => {
  assertTeiError(assert, await post(`${url}/embed`, { inputs: [] }), 422, "Validation", /inputs is an empty list/);
  const long = await post(`${url}/embed`, { inputs: ["short", "word ".repeat(100)] });
  assertTeiError(assert, long, 422, "Validation", /^inputs\[1\] has \d+ tokens, the limit is 64 \(use "truncate": true/);
  assertTeiError(assert, await post(`${url}/embed`, { inputs: "x", dimensions: 100000 }), 422, "Validation",
    /dimensions 100000 is out of range/);
  assertTeiError(assert, await post(`${url}/embed`, { inputs: Array(5).fill("x") }), 413, "Validation",
    /inputs has 5 items, the limit is 4/);
  assertTeiError(assert, await post(`${url}/embed`, "{not json"), 400, "Validation", /invalid JSON body/);
  assertTeiError(assert, await get(`${url}/embed`), 405, "MethodNotAllowed", /use POST/);
  assertTeiError(assert, await post(`${url}/tokenize`, { inputs: [[1, 2]] }), 422, "Validation", /inputs must be a string/);
  assertTeiError(assert, await post(`${url}/tokenize`, { inputs: "x", prompt_name: "nope" }), 422, "Validation",
    /unknown prompt name "nope"/);
});

test("Ollama: name and name:latest are the same model; errors are {error: string}", async () => {
  for (const model of [ID, `${ID}:latest`]) {
    const r = await post(`${url}/api/embed`, { model, input: "hello" });
    assert.equal(r.status, 200, `${model}: ${r.text}`);
    assert.equal(r.body.model, ID);
  }
  assertOllamaError(assert, await post(`${url}/api/embed`, { model: "nomic-embed-text:latest", input: "x" }), 404,
    /model "nomic-embed-text:latest" not found/);
  assertOllamaError(assert, await post(`${url}/api/embed`, { model: ID, input: "" }), 400, /input is an empty string/);
  assertOllamaError(assert, await post(`${url}/api/embed`, { model: ID, input: "word ".repeat(100), truncate: false }),
    400, /input\[0\] has \d+ tokens, the limit is 64/);
  assertOllamaError(assert, await post(`${url}/api/embed`, "nope"), 400, /invalid JSON body/);
  assertOllamaError(assert, await get(`${url}/api/embed`), 405, /use POST/);
  assertOllamaError(assert, await get(`${url}/api/nothing`), 404, /no route/);
});

test("Ollama: legacy POST /api/embeddings {model, prompt} -> {embedding}", async () => {
  const r = await post(`${url}/api/embeddings`, { model: `${ID}:latest`, prompt: "hello" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ["embedding"]);
  const e = await post(`${url}/api/embed`, { model: ID, input: "hello" });
  assert.ok(cosine(r.body.embedding, e.body.embeddings[0]) > 0.999999);
  // Ollama answers an empty prompt with an empty vector.
  assert.deepEqual((await post(`${url}/api/embeddings`, { model: ID, prompt: "" })).body, { embedding: [] });
  assertOllamaError(assert, await post(`${url}/api/embeddings`, { model: ID }), 400, /missing required field prompt/);
  assertOllamaError(assert, await post(`${url}/api/embeddings`, { model: ID, prompt: ["a"] }), 400,
    /prompt must be a string/);
  assertOllamaError(assert, await post(`${url}/api/embeddings`, { model: "other", prompt: "x" }), 404, /not found/);
  // Long prompts are truncated, as Ollama does.
  const long = await post(`${url}/api/embeddings`, { model: ID, prompt: "word ".repeat(100) });
  assert.equal(long.status, 200, long.text);
});

test("Ollama: GET /api/tags lists the model as Ollama does; GET /api/version", async () => {
  const r = await get(`${url}/api/tags`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.models.length, 1);
  const m = r.body.models[0];
  assert.equal(m.name, `${ID}:latest`);
  assert.equal(m.model, `${ID}:latest`);
  assert.ok(!Number.isNaN(Date.parse(m.modified_at)), m.modified_at);
  assert.ok(Number.isInteger(m.size) && m.size > 0);
  assert.match(m.digest, /^[0-9a-f]+$/);
  assert.equal(m.details.format, "gguf");
  assert.equal(m.details.family, "qwen3");
  assert.match(m.details.parameter_size, /^\d+(\.\d)?[MB]$/);
  assert.equal(m.details.quantization_level, "F32");
  const v = await get(`${url}/api/version`);
  assert.equal(v.status, 200);
  assert.match(v.body.version, /^\d+\.\d+\.\d+$/);
});
