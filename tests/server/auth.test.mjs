// API keys with roles: --api-key KEY[:ROLE] (repeatable) and --api-key-file; admin (everything), embed (embeddings,
// tokenize, reads), search (reads). No valid key: 401; a key without the route's role: 403; in each route's dialect.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { assertApiError, assertOllamaError, assertTeiError, get, post, startServer } from "./server_helpers.mjs";

const ID = "tiny-F32";
// Every route with a valid request, and who may call it (docs/server.md has the same table).
const ROUTES = [
  ["POST", "/v1/embeddings", { input: "x" }, "embed"],
  ["POST", "/embeddings", { input: "x" }, "embed"],
  ["GET", "/v1/models", null, "read"],
  ["GET", `/v1/models/${ID}`, null, "read"],
  ["POST", "/embed", { inputs: "x" }, "embed"],
  ["POST", "/", { inputs: "x" }, "embed"],
  ["POST", "/invocations", { inputs: "x" }, "embed"],
  ["POST", "/tokenize", { inputs: "x" }, "embed"],
  ["GET", "/info", null, "read"],
  ["POST", "/api/embed", { input: "x" }, "embed"],
  ["POST", "/api/embeddings", { prompt: "x" }, "embed"],
  ["GET", "/api/tags", null, "read"],
  ["GET", "/api/version", null, "read"],
  ["GET", "/metrics", null, "admin"],
  ["GET", "/health", null, "public"],
  ["GET", "/openapi.json", null, "public"],
];
const KEYS = { admin: "adm1n-key", embed: "emb3d-key", search: "s3arch-key", file: "fil3-key" };
const ALLOWED = {
  admin: () => true,
  embed: (who) => who !== "admin",
  search: (who) => who === "read" || who === "public",
};

let server, url, keyFile;
before(async () => {
  keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "qembed-keys-")), "keys.txt");
  fs.writeFileSync(keyFile, `# keys for the test\n\n  ${KEYS.file}:embed  \n# search:admin is not a key\n`);
  server = await startServer(["--api-key", KEYS.admin, "--api-key", `${KEYS.embed}:embed`,
                               "--api-key", `${KEYS.search}:search`, "--api-key-file", keyFile]);
  url = server.url;
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
  fs.rmSync(path.dirname(keyFile), { recursive: true, force: true });
});

function call(method, route, body, key, scheme = "Bearer") {
  const headers = key === undefined ? {} : { authorization: `${scheme} ${key}` };
  return method === "GET" ? get(`${url}${route}`, headers) : post(`${url}${route}`, body, headers);
}

function assertDenied(r, route, status) {
  if (route.startsWith("/api/")) return assertOllamaError(assert, r, status);
  if (["/embed", "/", "/invocations", "/tokenize", "/info"].includes(route)) {
    return assertTeiError(assert, r, status, status === 401 ? "Unauthorized" : "Forbidden");
  }
  assertApiError(assert, r, status);
}

test("every route: 401 without a key, 200 or 403 by role (admin, embed, search, key file)", async () => {
  for (const [method, route, body, who] of ROUTES) {
    const anonymous = await call(method, route, body);
    if (who === "public") {
      assert.equal(anonymous.status, 200, `${method} ${route}: ${anonymous.text}`);
    } else {
      assertDenied(anonymous, route, 401);
    }
    for (const [role, key] of [["admin", KEYS.admin], ["embed", KEYS.embed], ["search", KEYS.search],
      ["embed", KEYS.file]]) {
      const r = await call(method, route, body, key);
      const expected = ALLOWED[role](who) ? 200 : 403;
      assert.equal(r.status, expected, `${role} key on ${method} ${route}: ${r.text}`);
      if (expected === 403) {
        assertDenied(r, route, 403);
        assert.match(r.text, new RegExp(`role ${role}`));
      }
    }
  }
});

test("the Bearer scheme is case-insensitive; near-miss keys are rejected", async () => {
  for (const scheme of ["bearer", "BEARER", "Bearer"]) {
    assert.equal((await call("GET", "/v1/models", null, KEYS.search, scheme)).status, 200, scheme);
  }
  const near = [KEYS.embed.slice(0, -1), KEYS.embed + "x", `${KEYS.embed}:embed`, KEYS.embed.toUpperCase(), "", " "];
  for (const key of near) {
    assertApiError(assert, await call("POST", "/v1/embeddings", { input: "x" }, key), 401, /invalid API key/);
  }
  assertApiError(assert, await call("GET", "/v1/models", null, KEYS.admin, "Basic"), 401, /invalid API key/);
  assertApiError(assert, await call("GET", "/v1/models", null, KEYS.admin, "Bearer:"), 401);
  assertApiError(assert, await call("GET", "/v1/models"), 401, /missing API key/);
  // An unknown route is 401 without a key (no route probing), 404 with one.
  assert.equal((await call("GET", "/v2/nothing")).status, 401);
  assert.equal((await call("GET", "/v2/nothing", null, KEYS.search)).status, 404);
});

test("QEMBED_API_KEY holds comma-separated keys; a key without a role is admin", async () => {
  const s = await startServer([], { env: { QEMBED_API_KEY: "env-admin,env-search:search" } });
  try {
    const h = (key) => ({ authorization: `Bearer ${key}` });
    assert.equal((await get(`${s.url}/metrics`, h("env-admin"))).status, 200);
    assert.equal((await get(`${s.url}/v1/models`, h("env-search"))).status, 200);
    assert.equal((await post(`${s.url}/v1/embeddings`, { input: "x" }, h("env-search"))).status, 403);
    assert.equal((await get(`${s.url}/v1/models`)).status, 401);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test("bad key configurations are start-up errors naming the flag or line", async () => {
  await assert.rejects(startServer(["--api-key", "k:superuser"]), /--api-key: unknown role "superuser"/);
  await assert.rejects(startServer(["--api-key", ":embed"]), /--api-key: the key is empty/);
  const bad = path.join(path.dirname(keyFile), "bad.txt");
  fs.writeFileSync(bad, "good-key\nother:admn\n");
  await assert.rejects(startServer(["--api-key-file", bad]), /bad\.txt line 2: unknown role "admn"/);
  await assert.rejects(startServer(["--api-key-file", path.join(path.dirname(keyFile), "missing.txt")]),
    /cannot be read/);
});
