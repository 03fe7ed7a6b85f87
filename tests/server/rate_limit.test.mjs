// Per-client rate limits as a user meets them: --request-rate-limit / --token-rate-limit per API key, else per
// address (X-Forwarded-For only from a --trusted-proxy), 429 in the route's dialect with an honest Retry-After
// (waiting that long passes, not waiting does not), X-RateLimit-* headers, 413 for a request larger than the whole
// token burst, and the counters on /metrics. Rates are small (one request per 2 s) so a loaded machine cannot
// refill a bucket between two requests a test expects to be refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { QEMBED, assertCleanError, qembed, tinyGguf } from "../cli/helpers.mjs";
import { assertApiError, assertOllamaError, assertTeiError, get, post, sleep, startServer } from "./server_helpers.mjs";

const KEY_A = "key-a-secret", KEY_B = "key-b-secret", ADMIN = "admin-secret";
const auth = (key) => ({ authorization: `Bearer ${key}` });

function retryAfter(r) {
  const v = r.headers.get("retry-after");
  assert.match(v ?? "", /^[1-9][0-9]*$/, `Retry-After must be whole seconds, got ${v}`);
  return Number(v);
}

function metric(text, name) {
  const m = text.match(new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m"));
  assert.ok(m, `${name} not in /metrics`);
  return Number(m[1]);
}

test("an API key over its requests/s gets 429 with an honest Retry-After; another key is unaffected", async () => {
  const server = await startServer(["--api-key", `${KEY_A}:embed`, "--api-key", `${KEY_B}:embed`, "--api-key", ADMIN,
                                    "--request-rate-limit", "0.5", "--request-rate-burst", "2"]);
  try {
    const embed = (key) => post(`${server.url}/v1/embeddings`, { input: "hello" }, auth(key));
    const first = await embed(KEY_A);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get("x-ratelimit-limit-requests"), "2");
    assert.equal(first.headers.get("x-ratelimit-remaining-requests"), "1");
    assert.match(first.headers.get("x-ratelimit-reset-requests"), /^[0-9.ms]+$/);
    assert.equal((await embed(KEY_A)).status, 200);

    const limited = await embed(KEY_A);
    assertApiError(assert, limited, 429, /rate limit reached for API key #1 on requests: 0\.5 requests per second/);
    assert.equal(limited.body.error.code, "rate_limit_exceeded");
    assert.equal(limited.body.error.type, "requests");
    assert.ok(!limited.text.includes(KEY_A), "the key itself is never shown");
    assert.equal(limited.headers.get("x-ratelimit-remaining-requests"), "0");
    const wait = retryAfter(limited);
    assert.ok(wait <= 2, `at 0.5 requests/s one request is at most 2 s away, got ${wait}`);
    assert.match(limited.body.error.message, new RegExp(`retry in ${wait} s`));

    // Not waiting fails, in every dialect's shape; model descriptions and /health are not limited.
    assertApiError(assert, await embed(KEY_A), 429);
    assertTeiError(assert, await post(`${server.url}/embed`, { inputs: "hello" }, auth(KEY_A)), 429, "Overloaded",
                   /rate limit reached/);
    assertOllamaError(assert, await post(`${server.url}/api/embed`, { input: "hello" }, auth(KEY_A)), 429,
                      /rate limit reached/);
    assert.equal((await get(`${server.url}/v1/models`, auth(KEY_A))).status, 200);
    assert.equal((await get(`${server.url}/health`)).status, 200);
    // Another key has its own bucket.
    assert.equal((await embed(KEY_B)).status, 200);

    // Waiting the Retry-After is enough.
    const again = await embed(KEY_A);
    assert.equal(again.status, 429);
    await sleep(retryAfter(again) * 1000);
    const passed = await embed(KEY_A);
    assert.equal(passed.status, 200, passed.text);

    const text = (await get(`${server.url}/metrics`, auth(ADMIN))).text;
    assert.ok(metric(text, 'qembed_rate_limited_total{limit="requests"}') >= 5);
    assert.equal(metric(text, 'qembed_rate_limited_total{limit="tokens"}'), 0);
    assert.doesNotMatch(server.stderr(), new RegExp(KEY_A));
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test("without keys the client is its address, and X-Forwarded-For is ignored without --trusted-proxy", async () => {
  const server = await startServer(["--request-rate-limit", "0.5"]);  // burst: one second's worth, at least 1
  try {
    const embed = (headers = {}) => post(`${server.url}/v1/embeddings`, { input: "hello" }, headers);
    const first = await embed();
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get("x-ratelimit-limit-requests"), "1");
    const spoofed = await embed({ "x-forwarded-for": "203.0.113.9" });
    assertApiError(assert, spoofed, 429, /rate limit reached for address 127\.0\.0\.1 on requests/);
    const wait = retryAfter(spoofed);
    assert.ok(wait <= 2);
    // /tokenize takes a slot: it counts as a request too.
    assertTeiError(assert, await post(`${server.url}/tokenize`, { inputs: "hello" }), 429, "Overloaded");
    await sleep(wait * 1000);
    assert.equal((await embed()).status, 200);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test("behind a --trusted-proxy the client is the rightmost untrusted X-Forwarded-For address", async () => {
  // From the environment, as a container would set them.
  const server = await startServer([], {
    env: { QEMBED_REQUEST_RATE_LIMIT: "0.5", QEMBED_TRUSTED_PROXY: "10.0.0.0/8,127.0.0.1" },
  });
  try {
    const embed = (xff) => post(`${server.url}/v1/embeddings`, { input: "hello" }, xff === undefined ? {} : {
      "x-forwarded-for": xff,
    });
    assert.equal((await embed("203.0.113.1")).status, 200);
    assertApiError(assert, await embed("203.0.113.1"), 429, /for address 203\.0\.113\.1 on requests/);
    assert.equal((await embed("203.0.113.2")).status, 200);
    // Forging entries left of what the proxy appended does not help; trusted hops on the right are skipped.
    assertApiError(assert, await embed("198.51.100.7, 203.0.113.1"), 429, /address 203\.0\.113\.1 /);
    assertApiError(assert, await embed("203.0.113.1, 10.1.2.3"), 429, /address 203\.0\.113\.1 /);
    // A malformed header names no one beyond the proxy: the proxy's own address is the client.
    assert.equal((await embed("not-an-address")).status, 200);
    assertApiError(assert, await embed(undefined), 429, /address 127\.0\.0\.1 /);
    // IPv6 clients are limited per /64.
    assert.equal((await embed("2001:db8::1")).status, 200);
    assertApiError(assert, await embed("2001:db8::2"), 429, /address 2001:db8::\/64 /);
    assert.equal((await embed("[2001:db8:0:1::1]:4711")).status, 200);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test("tokens/s: a large input waits its Retry-After; a request larger than the burst gets 413 saying so", async () => {
  const server = await startServer(["--token-rate-limit", "10", "--token-rate-burst", "100"]);
  try {
    const ids = (n) => ({ input: [Array(n - 1).fill(100)] });  // n tokens with the EOS the server appends
    const first = await post(`${server.url}/v1/embeddings`, ids(60));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.usage.prompt_tokens, 60);
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "100");
    assert.equal(first.headers.get("x-ratelimit-remaining-tokens"), "40");

    const limited = await post(`${server.url}/v1/embeddings`, ids(60));
    assertApiError(assert, limited, 429, /on input tokens: this request has 60, the limit is 10 tokens per second/);
    assert.equal(limited.body.error.type, "tokens");
    const wait = retryAfter(limited);
    assert.ok(wait >= 1 && wait <= 2, `20 tokens short at 10/s: about 2 s, got ${wait}`);
    assertApiError(assert, await post(`${server.url}/v1/embeddings`, ids(60)), 429);
    await sleep(wait * 1000);
    const passed = await post(`${server.url}/v1/embeddings`, ids(60));
    assert.equal(passed.status, 200, passed.text);

    // Larger than the whole burst: it could never pass, so not a 429 to retry forever.
    const huge = await post(`${server.url}/v1/embeddings`, ids(150));
    assertApiError(assert, huge, 413, /this request has 150 input tokens, more than the token rate limit ever allows/);
    assert.match(huge.body.error.message, /--token-rate-burst/);
    assert.match(huge.body.error.message, /at most 100 tokens a request/);
    assertTeiError(assert, await post(`${server.url}/embed`, { inputs: [Array(200).fill(100)] }), 413, "Validation",
                   /more than the token rate limit ever allows/);
    // /tokenize runs no model: the token limit does not apply.
    const tok = await post(`${server.url}/tokenize`, { inputs: "word ".repeat(300) });
    assert.equal(tok.status, 200, tok.text);

    const text = (await get(`${server.url}/metrics`)).text;
    assert.ok(metric(text, 'qembed_rate_limited_total{limit="tokens"}') >= 2);
    assert.equal(metric(text, 'qembed_rate_limited_total{limit="requests"}'), 0);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test("bad rate-limit flags fail at start-up naming the flag", () => {
  const serve = (...flags) => qembed(["serve", "--model", tinyGguf(), "--port", "0", ...flags]);
  assertCleanError(assert, serve("--trusted-proxy", "10.0.0.0/33", "--request-rate-limit", "1"),
                   /--trusted-proxy "10\.0\.0\.0\/33"/);
  assertCleanError(assert, serve("--request-rate-limit", "fast"), /--request-rate-limit expects a number/);
  assertCleanError(assert, serve("--token-rate-limit", "10", "--token-rate-burst", "0.5"), /--token-rate-burst/);
  assertCleanError(assert, serve("--request-rate-burst", "5"), /--request-rate-burst needs --request-rate-limit/);
  assert.ok(QEMBED);
});
