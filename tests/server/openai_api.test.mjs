// OpenAI-compatible API: POST /v1/embeddings in every input shape and option, GET /v1/models, and the official
// `openai` npm client unmodified (base64 by default, and float).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { cosine, decodeBase64Floats, get, post, startServer } from "./server_helpers.mjs";

let server, url, modelName;
before(async () => {
  server = await startServer(["--prompt", "short=Represent this:", "--served-model-name", "tiny-embed",
                               "--max-input-tokens", "512"]);
  url = server.url;
  modelName = "tiny-embed";
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0);
});

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test("string input: one unit vector, usage counts tokens with EOS", async () => {
  const r = await post(`${url}/v1/embeddings`, { input: "hello world", model: modelName });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object, "list");
  assert.equal(r.body.model, modelName);
  assert.equal(r.body.data.length, 1);
  const d = r.body.data[0];
  assert.equal(d.object, "embedding");
  assert.equal(d.index, 0);
  assert.equal(d.embedding.length, 256);
  assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-5);
  assert.deepEqual(r.body.usage, { prompt_tokens: 3, total_tokens: 3 }); // hello, " world", EOS
  assert.match(r.headers.get("content-type"), /application\/json/);
});

test("list input: data in input order, each equal to the input alone", async () => {
  const texts = ["alpha", "a longer sentence about beta and gamma", "γειά σου κόσμε", "🙂 emoji"];
  const r = await post(`${url}/v1/embeddings`, { input: texts, model: modelName });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data.map((d) => d.index), [0, 1, 2, 3]);
  for (let i = 0; i < texts.length; i++) {
    const alone = await post(`${url}/v1/embeddings`, { input: texts[i] });
    assert.ok(cosine(alone.body.data[0].embedding, r.body.data[i].embedding) > 0.99999, `input ${i}`);
  }
});

test("base64 is the little-endian float32 of the float response", async () => {
  const f = await post(`${url}/v1/embeddings`, { input: "base64 check", encoding_format: "float" });
  const b = await post(`${url}/v1/embeddings`, { input: "base64 check", encoding_format: "base64" });
  assert.equal(b.status, 200, b.text);
  assert.equal(typeof b.body.data[0].embedding, "string");
  const decoded = decodeBase64Floats(b.body.data[0].embedding);
  assert.equal(decoded.length, 256);
  for (let i = 0; i < decoded.length; i++) assert.equal(decoded[i], Math.fround(f.body.data[0].embedding[i]));
});

test("token-array inputs equal the text (EOS added unless already last)", async () => {
  const tok = await post(`${url}/tokenize`, { inputs: "tokens as input", add_special_tokens: false });
  const ids = tok.body[0].map((t) => t.id);
  const text = await post(`${url}/v1/embeddings`, { input: "tokens as input" });
  const one = await post(`${url}/v1/embeddings`, { input: ids });
  const many = await post(`${url}/v1/embeddings`, { input: [ids, [...ids, 151643]] });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.usage.prompt_tokens, ids.length + 1);
  const t = text.body.data[0].embedding;
  assert.ok(cosine(t, one.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(t, many.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(t, many.body.data[1].embedding) > 0.99999, "EOS already last is not doubled");
  assert.equal(many.body.usage.prompt_tokens, 2 * (ids.length + 1));
});

test("dimensions keeps the first D then normalizes; normalize:false returns the raw vector", async () => {
  const full = await post(`${url}/v1/embeddings`, { input: "matryoshka", normalize: false });
  const d64 = await post(`${url}/v1/embeddings`, { input: "matryoshka", dimensions: 64 });
  assert.equal(d64.body.data[0].embedding.length, 64);
  assert.ok(Math.abs(norm(d64.body.data[0].embedding) - 1) < 1e-5);
  const raw = full.body.data[0].embedding;
  assert.ok(Math.abs(norm(raw) - 1) > 1e-3, "raw pooled vector is not unit length");
  assert.ok(cosine(raw.slice(0, 64), d64.body.data[0].embedding) > 0.99999);
});

test("prompt_name query == instruction with the default task; configured prompts are prefixes", async () => {
  const task = "Given a web search query, retrieve relevant passages that answer the query";
  const q = await post(`${url}/v1/embeddings`, { input: "what is qembed", prompt_name: "query" });
  const i = await post(`${url}/v1/embeddings`, { input: "what is qembed", instruction: task });
  const manual = await post(`${url}/v1/embeddings`, { input: `Instruct: ${task}\nQuery:what is qembed` });
  const doc = await post(`${url}/v1/embeddings`, { input: "what is qembed", prompt_name: "document" });
  const plain = await post(`${url}/v1/embeddings`, { input: "what is qembed" });
  const short = await post(`${url}/v1/embeddings`, { input: "what is qembed", prompt_name: "short" });
  const shortManual = await post(`${url}/v1/embeddings`, { input: "Represent this:what is qembed" });
  assert.equal(q.body.usage.prompt_tokens, manual.body.usage.prompt_tokens);
  assert.ok(cosine(q.body.data[0].embedding, manual.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(i.body.data[0].embedding, manual.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(doc.body.data[0].embedding, plain.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(short.body.data[0].embedding, shortManual.body.data[0].embedding) > 0.99999);
  assert.ok(cosine(q.body.data[0].embedding, plain.body.data[0].embedding) < 0.9999);
});

test("truncate keeps the first tokens (ending in EOS); user is accepted", async () => {
  const long = "word ".repeat(2000);
  const r = await post(`${url}/v1/embeddings`, { input: [long, "short"], truncate: true, user: "u-1" });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.usage.prompt_tokens, 512 + 2); // --max-input-tokens 512
});

test("GET /v1/models lists the served model", async () => {
  const r = await get(`${url}/v1/models`);
  assert.equal(r.status, 200);
  assert.equal(r.body.object, "list");
  assert.equal(r.body.data[0].id, modelName);
  assert.equal(r.body.data[0].object, "model");
  assert.equal(typeof r.body.data[0].owned_by, "string");
  assert.equal((await get(`${url}/v1/models/${modelName}`)).body.id, modelName);
  assert.equal((await get(`${url}/v1/models/nope`)).status, 404);
});

test("the official openai client works unmodified (default base64, and float)", async () => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
  const ref = await post(`${url}/v1/embeddings`, { input: ["first text", "second text"] });
  const def = await client.embeddings.create({ model: modelName, input: ["first text", "second text"] });
  assert.equal(def.data.length, 2);
  assert.ok(Array.isArray(def.data[0].embedding), "the client decodes base64 into numbers");
  assert.equal(def.data[0].embedding.length, 256);
  for (let i = 0; i < 2; i++) assert.ok(cosine(def.data[i].embedding, ref.body.data[i].embedding) > 0.999999);
  const flt = await client.embeddings.create({ model: modelName, input: "first text", encoding_format: "float" });
  assert.ok(cosine(flt.data[0].embedding, ref.body.data[0].embedding) > 0.999999);
  assert.equal(flt.usage.prompt_tokens, 3);
  const dims = await client.embeddings.create({ model: modelName, input: "first text", dimensions: 32 });
  assert.equal(dims.data[0].embedding.length, 32);
  const models = await client.models.list();
  assert.equal(models.data[0].id, modelName);
  await assert.rejects(client.embeddings.create({ model: "other-model", input: "x" }), (e) => e.status === 404);
});
