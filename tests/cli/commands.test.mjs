// Command-line hygiene: version, unknown commands, flags checked before a model loads, inputs that are pipes or
// directories, truncation direction, the batch-size flag's two names.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { QEMBED, assertCleanError, cosine, jsonl, model, parseJsonl, qembed, tinyGguf } from "./helpers.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-cmd-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
// A model path that does not exist: a flag error must be reported instead of the path (no load is attempted).
const NO_MODEL = path.join(tmp, "Qwen3-Embedding-8B-huge.gguf");

test("--version and version print the version and exit 0", () => {
  for (const args of [["--version"], ["version"]]) {
    const r = qembed(args);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "qembed 0.1.0\n");
  }
  const help = qembed(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: qembed COMMAND/);
});

test("an unknown command or none is an error with exit status 1", () => {
  const r = qembed(["embedd", "--model", "x"]);
  assertCleanError(assert, r, /^qembed: error: unknown command "embedd"; run qembed --help\n$/);
  const none = qembed([]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /usage: qembed COMMAND/);
});

test("flags are checked before the model loads", () => {
  const cases = [
    [["embed", "--model", NO_MODEL, "--bogus"], /unknown flag --bogus/],
    [["embed", "--model", NO_MODEL, "--threads", "many"], /--threads expects an integer, got "many"/],
    [["embed", "--model", NO_MODEL, "--dimensions", "abc"], /--dimensions expects an integer/],
    [["embed", "--model", NO_MODEL, "--dimensions", "0"], /--dimensions is 0/],
    [["embed", "--model", NO_MODEL, "--prompt-name", "passage"], /unknown prompt name "passage"; valid names: query, document/],
    [["embed", "--model", NO_MODEL, "--instruction", "a", "--prompt-name", "query"], /mutually exclusive/],
    [["embed", "--model", NO_MODEL, "--instruction", ""], /instruction must not be empty/],
    [["embed", "--model", NO_MODEL, "--truncation-direction", "up"], /--truncation-direction must be left or right, got "up"/],
    [["embed", "--model", NO_MODEL, "--max-batch-tokens", "64", "--batch-tokens", "64"], /alias of --max-batch-tokens/],
    [["tokenize", "--model", NO_MODEL, "--prompt-name", "nope"], /unknown prompt name "nope"/],
    [["bench", "--model", NO_MODEL, "--input", path.join(tmp, "none.jsonl"), "--batch-tokens", "1"], /--batch-tokens is 1, valid range is 64/],
    [["info", "--model", NO_MODEL, "--threads", "0"], /--threads is 0/],
  ];
  for (const [args, pattern] of cases) {
    const r = qembed(args, "");
    assertCleanError(assert, r, pattern);
    assert.doesNotMatch(r.stderr, /huge\.gguf/, `${args.join(" ")}: reported the model path, not the flag`);
  }
});

test("a bad QEMBED_SIMD or QEMBED_LOG_LEVEL is reported before the model loads", () => {
  const simd = qembed(["embed", "--model", NO_MODEL], "", { env: { ...process.env, QEMBED_SIMD: "bogus" } });
  assertCleanError(assert, simd, /QEMBED_SIMD.*"bogus"/);
  const level = qembed(["embed", "--model", NO_MODEL], "", { env: { ...process.env, QEMBED_LOG_LEVEL: "loud" } });
  assertCleanError(assert, level, /QEMBED_LOG_LEVEL.*"loud"/);
});

test("a directory as --input is an error naming it, before the model loads", () => {
  const dir = path.join(tmp, "inputs-dir");
  fs.mkdirSync(dir, { recursive: true });
  const r = qembed(["embed", "--model", NO_MODEL, "--input", dir]);
  assertCleanError(assert, r, /inputs-dir: is a directory/);
  assertCleanError(assert, qembed(["embed", "--model", NO_MODEL, "--input", path.join(tmp, "missing.jsonl")]), /missing\.jsonl: cannot open input/);
});

test("--input from a FIFO or /dev/stdin embeds every line (read once, not counted twice)", () => {
  const m = tinyGguf();
  const texts = Array.from({ length: 7 }, (_, i) => ({ text: `line ${i}` }));
  const fifo = path.join(tmp, "in.fifo");
  spawnSync("mkfifo", [fifo]);
  const input = path.join(tmp, "fifo-source.jsonl");
  fs.writeFileSync(input, jsonl(texts));
  // A writer on the FIFO in the background, qembed reading it with --progress (which used to count lines first).
  const r = spawnSync("sh", ["-c", `cat "$1" > "$2" & exec "$3" embed --model "$4" --input "$2" --progress`, "sh", input, fifo,
    QEMBED, m], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(parseJsonl(r.stdout).length, 7);
  const viaStdin = spawnSync("sh", ["-c", `cat "$1" | exec "$2" embed --model "$3" --input /dev/stdin --progress`, "sh", input,
    QEMBED, m], { encoding: "utf8", timeout: 120_000 });
  assert.equal(viaStdin.status, 0, viaStdin.stderr);
  const rows = parseJsonl(viaStdin.stdout);
  assert.equal(rows.length, 7);
  rows.forEach((o, i) => assert.equal(o.index, i));
});

test("--input /dev/zero (an endless line of NUL bytes) ends at once with an error naming the line, not a hang", () => {
  const t0 = Date.now();
  const r = spawnSync(QEMBED, ["embed", "--model", tinyGguf(), "--input", "/dev/zero"], { encoding: "utf8", timeout: 60_000 });
  assert.notEqual(r.signal, "SIGTERM", "killed by the timeout: it hung");
  assertCleanError(assert, r, /\/dev\/zero:1: line longer than 64 MB/);
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
});

test("--truncation-direction left keeps the last tokens, EOS still last", () => {
  const small = model("tiny-ctx64.gguf", ["--shape", "custom", "--layers", "2", "--hidden", "256", "--heads", "4", "--kv-heads", "2", "--head-dim", "64", "--ffn", "512", "--ctx", "64", "--format", "gguf", "--type", "F32", "--seed", "7"]);
  const long = { text: Array.from({ length: 120 }, (_, i) => `w${i}`).join(" ") };
  const full = parseJsonl(qembed(["tokenize", "--model", tinyGguf()], jsonl([long])).stdout)[0].tokens;
  assert.ok(full.length > 64);
  const left = qembed(["tokenize", "--model", small, "--truncate", "--truncation-direction", "left"], jsonl([long]));
  assert.equal(left.status, 0, left.stderr);
  const l = parseJsonl(left.stdout)[0].tokens;
  assert.deepEqual(l, full.slice(-64));
  assert.equal(l.at(-1), 151643);
  const right = parseJsonl(qembed(["tokenize", "--model", small, "--truncate", "--truncation-direction", "right"], jsonl([long])).stdout)[0].tokens;
  assert.deepEqual(right.slice(0, 63), full.slice(0, 63));
  assert.equal(right.at(-1), 151643);
  const over = qembed(["embed", "--model", small, "--truncation-direction", "left"], jsonl([long]));
  assertCleanError(assert, over, /input 0 has \d+ tokens, the limit is 64 \(use --truncate to keep the last 64\)/);
  const e = qembed(["embed", "--model", small, "--truncate", "--truncation-direction", "left"], jsonl([long]));
  assert.equal(e.status, 0, e.stderr);
  assert.equal(parseJsonl(e.stdout)[0].n_tokens, 64);
});

test("--max-batch-tokens and its alias --batch-tokens give the same vectors", () => {
  const m = tinyGguf();
  const docs = Array.from({ length: 12 }, (_, i) => ({ text: `document ${i} ` + "about things ".repeat(i) }));
  const a = qembed(["embed", "--model", m, "--max-batch-tokens", "64"], jsonl(docs));
  const b = qembed(["embed", "--model", m, "--batch-tokens", "64"], jsonl(docs));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const va = parseJsonl(a.stdout), vb = parseJsonl(b.stdout);
  assert.equal(va.length, 12);
  va.forEach((o, i) => assert.ok(cosine(o.embedding, vb[i].embedding) > 0.99999));
  assert.match(qembed(["embed", "--help"]).stdout, /--batch-tokens VALUE\s+alias of --max-batch-tokens/);
});

test("bench times the service in both modes and keeps its JSON summary", () => {
  const input = path.join(tmp, "bench.jsonl");
  fs.writeFileSync(input, jsonl([{ text: "a query" }, { text: "another one" }, { text: "third" }]));
  const one = qembed(["bench", "--model", tinyGguf(), "--input", input, "--one-at-a-time", "--prompt-name", "query", "--threads", "2"]);
  assert.equal(one.status, 0, one.stderr);
  const last = JSON.parse(one.stdout.trim().split("\n").at(-1));
  assert.equal(last.inputs, 3);
  assert.ok(last.p50_ms > 0 && last.p90_ms >= last.p50_ms && last.mean_ms > 0);
  assert.match(one.stderr, /inputs one at a time, .* threads, simd \w+/);
});
