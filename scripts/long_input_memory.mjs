#!/usr/bin/env node
// Peak RSS and time of one full-context input: embeds a text truncated to the model's context (32768 tokens on
// Qwen3-Embedding) and samples VmHWM while it runs. Prints one JSON line.
//
//   node scripts/long_input_memory.mjs build/qembed models/bench/qwen3-0.6b-shape-Q8_0.gguf
import { spawn } from "node:child_process";
import fs from "node:fs";
const [qembed, model] = process.argv.slice(2);
const text = "alpha beta gamma delta ".repeat(9000);
const child = spawn(qembed, ["embed", "--model", model, "--truncate", "--threads", "2"], { stdio: ["pipe", "pipe", "inherit"] });
let out = "", peak = 0;
child.stdout.on("data", (d) => (out += d));
const poll = setInterval(() => { try { const m = fs.readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/); if (m) peak = Math.max(peak, Number(m[1]) * 1024); } catch {} }, 200);
child.stdin.end(JSON.stringify({ text }) + "\n");
const t0 = Date.now();
child.on("exit", (code) => { clearInterval(poll); const r = JSON.parse(out.trim()); console.log(JSON.stringify({ code, seconds: (Date.now() - t0) / 1000, peak_rss_mib: Math.round(peak / 2 ** 20), file_mib: Math.round(fs.statSync(model).size / 2 ** 20), n_tokens: r.n_tokens, dims: r.embedding.length })); });
