// Every error a client can cause, as an OpenAI error body with the right status; the server survives all of them.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { assertApiError, assertOllamaError, assertTeiError, get, post, sleep, startServer } from "./server_helpers.mjs";

let server, url;
before(async () => {
  server = await startServer([
    "--max-input-tokens", "64", "--max-client-batch-size", "8", "--payload-limit", "4096",
    "--served-model-name", "tiny",
  ]);
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

const E = () => `${url}/v1/embeddings`;

test("400: empty string, empty list, wrong types", async () => {
  assertApiError(assert, await post(E(), { input: "" }), 400, /input is an empty string/);
  assertApiError(assert, await post(E(), { input: [] }), 400, /input is an empty list/);
  assertApiError(assert, await post(E(), { input: ["ok", ""] }), 400, /input\[1\] is an empty string/);
  assertApiError(assert, await post(E(), { input: ["ok", 3] }), 400, /input\[1\] must be a string, got integer/);
  assertApiError(assert, await post(E(), { input: 42 }), 400, /input must be a string/);
  assertApiError(assert, await post(E(), { input: { a: 1 } }), 400, /got object/);
  assertApiError(assert, await post(E(), {}), 400, /missing required field input/);
  assertApiError(assert, await post(E(), { input: [[1, 2], []] }), 400, /input\[1\] is an empty token array/);
  assertApiError(assert, await post(E(), { input: [1, -5] }), 400, /input\[1\] is token id -5, outside the vocabulary/);
  assertApiError(assert, await post(E(), { input: [[1, 2], [1, 1e9]] }), 400, /input\[1\]\[1\]/);
  assertApiError(assert, await post(E(), { input: [1.5] }), 400, /token id \(integer\)/);
  assertApiError(assert, await post(E(), { input: "x", normalize: "yes" }), 400, /normalize must be a boolean/);
  // TEI answers validation errors 422 in its own shape.
  assertTeiError(assert, await post(`${url}/embed`, { input: "wrong field" }), 422, "Validation",
    /missing required field inputs/);
});

test("400: bad dimensions, encoding_format, prompt_name, truncation_direction", async () => {
  const r = await post(E(), { input: "x", dimensions: 100000 });
  assertApiError(assert, r, 400, /dimensions 100000 is out of range: this model supports 32 to 256/);
  assert.equal(r.body.error.param, "dimensions");
  assertApiError(assert, await post(E(), { input: "x", dimensions: 0 }), 400, /positive/);
  assertApiError(assert, await post(E(), { input: "x", dimensions: "64" }), 400, /must be an integer/);
  assertApiError(assert, await post(E(), { input: "x", encoding_format: "int8" }), 400, /encoding_format/);
  const unknown = await post(E(), { input: "x", prompt_name: "nope" });
  assertApiError(assert, unknown, 400, /unknown prompt name "nope"/);
  assert.equal(unknown.body.error.param, "prompt_name");
  assertApiError(assert, await post(E(), { input: "x", prompt_name: "query", instruction: "t" }), 400,
    /mutually exclusive/);
  assertTeiError(assert, await post(`${url}/embed`, { inputs: "x", truncation_direction: "Up" }), 422, "Validation",
    /truncation_direction/);
});

test("400: input over the limit names the index and both token counts", async () => {
  const r = await post(E(), { input: ["short", "fine", "also fine", "word ".repeat(100)] });
  assertApiError(assert, r, 400, /^input\[3\] has \d{3} tokens, the limit is 64/);
  assert.equal(r.body.error.code, "context_length_exceeded");
  // TEI: Left truncation keeps the last tokens.
  const left = await post(`${url}/embed`, { inputs: "word ".repeat(100), truncate: true, truncation_direction: "Left" });
  assert.equal(left.status, 200, left.text);
});

test("400: invalid JSON and invalid UTF-8 name the problem", async () => {
  assertApiError(assert, await post(E(), '{"input": "x"'), 400, /invalid JSON body: .*line 1, column/);
  assertApiError(assert, await post(E(), ""), 400, /request body is empty/);
  assertApiError(assert, await post(E(), "[1,2]"), 400, /must be a JSON object/);
  const bad = Buffer.concat([Buffer.from('{"input": "a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  assertApiError(assert, await post(E(), bad), 400, /invalid JSON body: .*UTF-8/);
});

test("404: unknown model, unknown route; 405 wrong method", async () => {
  const r = await post(E(), { input: "x", model: "gpt-4" });
  assertApiError(assert, r, 404, /model "gpt-4" does not exist/);
  assert.equal(r.body.error.code, "model_not_found");
  assertOllamaError(assert, await post(`${url}/api/embed`, { model: "llama", input: "x" }), 404, /model "llama" not found/);
  assertApiError(assert, await post(`${url}/v2/nothing`, {}), 404, /no route/);
  assertApiError(assert, await get(E()), 405, /use POST/);
});

test("413: body over --payload-limit, more inputs than --max-client-batch-size", async () => {
  const big = await post(E(), { input: "x".repeat(5000) });
  assertApiError(assert, big, 413, /payload limit of 4096 bytes/);
  const many = await post(E(), { input: Array(9).fill("x") });
  assertApiError(assert, many, 413, /input has 9 items, the limit is 8/);
  assert.equal((await get(`${url}/health`)).status, 200);
});

test("malformed HTTP gets 400 and the server keeps serving", async () => {
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(server.port, "127.0.0.1", () => s.write("GARBAGE \x01\x02 nonsense\r\n\r\n"));
    let data = "";
    s.on("data", (d) => (data += d));
    s.on("end", () => resolve(data));
    s.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  // A connection that sends half a request and goes away.
  await new Promise((resolve) => {
    const s = net.connect(server.port, "127.0.0.1", () => {
      s.write("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inp");
      s.destroy();
      resolve();
    });
  });
  assert.equal((await post(E(), { input: "still alive" })).status, 200);
});

test("401: API key required when --api-key is set (health stays open)", async () => {
  const s = await startServer(["--api-key", "sekret"]);
  try {
    assertApiError(assert, await post(`${s.url}/v1/embeddings`, { input: "x" }), 401, /missing API key/);
    assertApiError(assert, await post(`${s.url}/v1/embeddings`, { input: "x" }, { authorization: "Bearer nope" }),
      401, /invalid API key/);
    assert.equal((await get(`${s.url}/v1/models`)).status, 401);
    assert.equal((await get(`${s.url}/health`)).status, 200);
    const ok = await post(`${s.url}/v1/embeddings`, { input: "x" }, { authorization: "Bearer sekret" });
    assert.equal(ok.status, 200, ok.text);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("429 with Retry-After past --max-concurrent-requests", async () => {
  const s = await startServer(["--max-concurrent-requests", "1", "--max-batch-tokens", "256",
                                  "--max-queue-tokens", "1000000"]);
  try {
    // One slow request (many inputs in small batches) holds the only slot; once it is in flight, others get 429.
    const slow = post(`${s.url}/v1/embeddings`, { input: Array(2000).fill("a sentence of several tokens here") });
    for (let i = 0; i < 400; i++) {
      const m = (await get(`${s.url}/metrics`)).text;
      if (/^qembed_requests_in_flight 1$/m.test(m)) break;
      await sleep(5);
    }
    const saw429 = await post(`${s.url}/v1/embeddings`, { input: "x" });
    assertApiError(assert, saw429, 429, /limit of 1 concurrent requests/);
    assert.equal(saw429.headers.get("retry-after"), "1");
    assert.equal((await slow).status, 200);
    assert.equal((await post(`${s.url}/v1/embeddings`, { input: "x" })).status, 200);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("CORS: preflight and allow-origin header when --cors-origin is set", async () => {
  const s = await startServer(["--cors-origin", "*"]);
  try {
    const pre = await fetch(`${s.url}/v1/embeddings`, { method: "OPTIONS", headers: { origin: "http://a.example" } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    const r = await post(`${s.url}/v1/embeddings`, { input: "x" }, { origin: "http://a.example" });
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
  } finally {
    await s.stop();
  }
});

test("Expect: 100-continue gets the interim response, then the answer", async () => {
  const body = JSON.stringify({ input: "continue" });
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(server.port, "127.0.0.1", () =>
      s.write(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`));
    let data = "";
    s.on("data", (d) => {
      data += d;
      if (data.startsWith("HTTP/1.1 100 Continue\r\n\r\n") && !s.sentBody) {
        s.sentBody = true;
        s.write(body);
      }
    });
    s.on("end", () => resolve(data));
    s.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
});
