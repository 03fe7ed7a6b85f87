// Starting `qembed serve` for the HTTP tests: a tiny generated model, port 0 (the server prints the port it got),
// stderr collected (it logs one line per request), clean stop with SIGTERM.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { QEMBED, tinyGguf } from "../cli/helpers.mjs";

export { cosine, tinyGguf } from "../cli/helpers.mjs";

/** Starts the server; resolves once it is ready. `args` are extra serve flags, `env` extra variables; `model: null`
 * starts it without --model (a reranker-only server: give --reranker-model in `args`). */
export async function startServer(args = [], { env = {}, model = tinyGguf() } = {}) {
  const modelArgs = model === null ? [] : ["--model", model];
  const proc = spawn(QEMBED, ["serve", ...modelArgs, "--port", "0", "--threads", "2", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  proc.stdout.on("data", () => {});
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${stderr}`)), 60_000);
    proc.stderr.on("data", (d) => {
      stderr += d.toString();
      const m = stderr.match(/ready on http:\/\/(?:[0-9.]+|\[[0-9a-f:]+\]):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${stderr}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const metricsMatch = stderr.match(/metrics on http:\/\/[^:]+:(\d+)\/metrics/);
  return {
    proc,
    port,
    url,
    /** The --metrics-port listener's port, when one was asked for. */
    metricsPort: metricsMatch ? Number(metricsMatch[1]) : undefined,
    exited,
    stderr: () => stderr,
    /** SIGTERM and wait; returns {code, signal}. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** POST JSON (or a raw string/Buffer body); returns {status, headers, body (parsed JSON when possible), text}. */
export async function post(url, body, headers = {}) {
  const raw = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: raw });
  return decode(res);
}

export async function get(url, headers = {}) {
  return decode(await fetch(url, { headers }));
}

async function decode(res) {
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body, text };
}

/** An OpenAI error body with the given status: {"error": {"message", "type", "param", "code"}}. */
export function assertApiError(assert, r, status, messagePattern) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.equal(typeof r.body, "object", r.text);
  const e = r.body.error;
  assert.ok(e, `no error object: ${r.text}`);
  assert.equal(typeof e.message, "string");
  assert.equal(typeof e.type, "string");
  assert.ok("param" in e && "code" in e, r.text);
  if (messagePattern) assert.match(e.message, messagePattern);
}

/** A TEI error body: {"error": "<message>", "error_type": "<type>"}. */
export function assertTeiError(assert, r, status, errorType, messagePattern) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.equal(typeof r.body, "object", r.text);
  assert.equal(typeof r.body.error, "string", r.text);
  assert.equal(r.body.error_type, errorType, r.text);
  if (messagePattern) assert.match(r.body.error, messagePattern);
}

/** An Ollama error body: {"error": "<message>"} (a string: ollama-js prints anything else as [object Object]). */
export function assertOllamaError(assert, r, status, messagePattern) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.equal(typeof r.body, "object", r.text);
  assert.equal(typeof r.body.error, "string", r.text);
  assert.deepEqual(Object.keys(r.body), ["error"], r.text);
  if (messagePattern) assert.match(r.body.error, messagePattern);
}

/** Decodes an OpenAI base64 embedding (little-endian float32). */
export function decodeBase64Floats(s) {
  const buf = Buffer.from(s, "base64");
  const out = [];
  for (let i = 0; i < buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

/** Peak resident memory (VmHWM) of a process in bytes. */
export function peakRssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = status.match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : 0;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw connection collecting what the server sends; `closed` resolves when the server ends it. */
export function rawConnection(port) {
  const sock = net.connect(port, "127.0.0.1");
  const c = { sock, data: "", ended: false };
  c.connected = new Promise((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  c.closed = new Promise((resolve) => sock.once("close", () => ((c.ended = true), resolve())));
  sock.on("data", (d) => (c.data += d.toString()));
  sock.on("error", () => {});
  return c;
}

/** Resolves when `pred()` holds, polling; rejects after `ms`. */
export async function until(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** The value of an unlabelled metric in a /metrics text (fails the test when it is missing). */
export function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  if (!m) throw new Error(`no metric ${name}`);
  return Number(m[1]);
}

/** /health's status once the server has freed closed connections: polls up to ~2 s while refused or not 200. */
export async function healthStatusOnceFree(url) {
  let health;
  for (let i = 0; i < 100; ++i) {
    health = await get(`${url}/health`).catch(() => ({ status: 0 }));
    if (health.status === 200) break;
    await sleep(20);
  }
  return health.status;
}
