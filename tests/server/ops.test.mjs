// Operations: X-Request-Id (echoed or generated, in the log line), --metrics-port / --prometheus-port (Prometheus on
// its own listener without keys), GET /openapi.json listing every route, and --host localhost.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertApiError, get, post, startServer } from "./server_helpers.mjs";

let server, url;
before(async () => {
  server = await startServer(["--api-key", "k", "--metrics-port", "0"]);
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});
const AUTH = { authorization: "Bearer k" };
const GENERATED = /^[0-9a-f]{16}-\d+$/;

test("X-Request-Id: a sane incoming id is echoed and logged, otherwise one is generated", async () => {
  const r = await post(`${url}/v1/embeddings`, { input: "x" }, { ...AUTH, "x-request-id": "client-id-42" });
  assert.equal(r.headers.get("x-request-id"), "client-id-42");
  assert.match(server.stderr(), /request id=client-id-42 POST \/v1\/embeddings 200 /);
  const a = (await get(`${url}/health`)).headers.get("x-request-id");
  const b = (await get(`${url}/health`)).headers.get("x-request-id");
  assert.match(a, GENERATED);
  assert.match(b, GENERATED);
  assert.notEqual(a, b);
  assert.equal(a.split("-")[0], b.split("-")[0]); // one prefix per process
  for (const bad of ["x".repeat(129), "has space", "tab\there"]) {
    const r2 = await get(`${url}/health`, { "x-request-id": bad });
    assert.match(r2.headers.get("x-request-id"), GENERATED, JSON.stringify(bad));
  }
  assert.equal((await get(`${url}/health`, { "x-request-id": "y".repeat(128) })).headers.get("x-request-id"),
    "y".repeat(128));
  // Errors carry it too, and another process draws another prefix (unique across restarts).
  const err = await post(`${url}/v1/embeddings`, { input: "x" });
  assertApiError(assert, err, 401);
  assert.match(err.headers.get("x-request-id"), GENERATED);
  const other = await startServer();
  try {
    const c = (await get(`${other.url}/health`)).headers.get("x-request-id");
    assert.notEqual(c.split("-")[0], a.split("-")[0]);
  } finally {
    await other.stop();
  }
});

test("--metrics-port: Prometheus text without the API key; /metrics on the main port still needs it", async () => {
  assert.ok(server.metricsPort > 0, server.stderr());
  assert.notEqual(server.metricsPort, server.port);
  await post(`${url}/v1/embeddings`, { input: ["m1", "m2"] }, AUTH);
  const m = await get(`http://127.0.0.1:${server.metricsPort}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get("content-type"), /text\/plain/);
  assert.match(m.text, /qembed_requests_total\{endpoint="\/v1\/embeddings",status="200"\} \d+/);
  assert.match(m.text, /^qembed_inputs_total [1-9]/m);
  assert.match(m.text, /^qembed_queue_size 0$/m);
  assert.equal((await get(`http://127.0.0.1:${server.metricsPort}/v1/models`)).status, 404);
  assertApiError(assert, await get(`${url}/metrics`), 401);
  assert.equal((await get(`${url}/metrics`, AUTH)).status, 200);
  // TEI's flag name works too.
  const tei = await startServer(["--prometheus-port", "0"]);
  try {
    assert.ok(tei.metricsPort > 0, tei.stderr());
    assert.equal((await get(`http://127.0.0.1:${tei.metricsPort}/metrics`)).status, 200);
  } finally {
    await tei.stop();
  }
});

test("GET /openapi.json: an OpenAPI 3 document listing every route, without a key", async () => {
  const r = await get(`${url}/openapi.json`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.openapi, /^3\./);
  const expected = {
    "/health": "get", "/metrics": "get", "/openapi.json": "get",
    "/v1/embeddings": "post", "/embeddings": "post", "/v1/models": "get", "/v1/models/{id}": "get",
    "/embed": "post", "/": "post", "/invocations": "post", "/tokenize": "post", "/info": "get",
    "/api/embed": "post", "/api/embeddings": "post", "/api/tags": "get", "/api/version": "get",
    "/v1/whoami": "get", "/v1/rerank": "post", "/rerank": "post",
  };
  assert.deepEqual(Object.keys(r.body.paths).sort(), Object.keys(expected).sort());
  for (const [p, method] of Object.entries(expected)) assert.ok(r.body.paths[p][method], `${method} ${p}`);
});

test("--host localhost resolves the name and serves", async () => {
  const s = await startServer(["--host", "localhost"]);
  try {
    assert.match(s.stderr(), /ready on http:\/\/127\.0\.0\.1:\d+/);
    assert.equal((await get(`${s.url}/health`)).status, 200);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
  await assert.rejects(startServer(["--host", "no-such-host.invalid"]), /--host no-such-host\.invalid/);
});
