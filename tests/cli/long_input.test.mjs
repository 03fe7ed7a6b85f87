// A full-context (32768-token) input on the 0.6B widths (hidden 1024, 16/8 heads of 128, ffn 3072) stays within
// model file + 1.5 GB peak RSS: attention is tiled and activations are chunked. One layer keeps the run short;
// memory does not grow with depth (the residual stream and one layer's K/V are all that span the sequence).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { test } from "node:test";
import { QEMBED, jsonl, model } from "./helpers.mjs";

function peakRssBytes(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

test("32K-token input: peak RSS within model file + 1.5 GB", { timeout: 1_800_000 }, async () => {
  const m = model("wide-1layer-ctx32k-Q8_0.gguf", ["--shape", "custom", "--layers", "1", "--hidden", "1024", "--heads", "16",
    "--kv-heads", "8", "--head-dim", "128", "--ffn", "3072", "--ctx", "32768", "--format", "gguf", "--type", "Q8_0", "--seed", "5"]);
  const fileBytes = fs.statSync(m).size;
  const text = "alpha beta gamma delta ".repeat(9000);  // ~36000 tokens, truncated to the context
  const child = spawn(QEMBED, ["embed", "--model", m, "--truncate", "--threads", "2"], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "", err = "", peak = 0;
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const poll = setInterval(() => (peak = Math.max(peak, peakRssBytes(child.pid))), 100);
  child.stdin.end(jsonl([{ text }]));
  const t0 = Date.now();
  const code = await new Promise((resolve) => child.on("exit", (c) => resolve(c)));
  clearInterval(poll);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(code, 0, err);
  const row = JSON.parse(out.trim());
  assert.equal(row.n_tokens, 32768);
  assert.equal(row.embedding.length, 1024);
  assert.ok(row.embedding.every(Number.isFinite));
  const limit = fileBytes + 1.5 * 2 ** 30;
  console.log(`32K input: ${seconds.toFixed(1)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, ` +
    `file ${(fileBytes / 2 ** 20).toFixed(0)} MiB, limit ${(limit / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(peak > 0, "peak RSS was sampled");
  assert.ok(peak <= limit, `peak RSS ${peak} > ${limit}`);
});
