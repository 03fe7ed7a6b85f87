#!/usr/bin/env node
// Compares two embedding JSONL files line by line (matched by "index", else by line order) by cosine similarity.
//
//   node tests/oracle/compare_embeddings.mjs A.jsonl B.jsonl [--min-cos 0.999]
//
// Lines need an "embedding" array; "tokens" (when both sides have it) are compared too, since a tokenizer
// difference explains a low cosine. Prints one line per pair below --min-cos and a JSON summary last;
// exits 1 when any pair is below the threshold, a length differs, or the files pair up unevenly.
import { parseArgs, readJsonl, die } from "./llama_common.mjs";

const USAGE = "usage: node tests/oracle/compare_embeddings.mjs A.jsonl B.jsonl [--min-cos 0.999]";

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

function byIndex(rows) {
  return rows.map((row, line) => ({ key: Number.isInteger(row.index) ? row.index : line, row }));
}

function main() {
  const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !(all[i - 1] || "").startsWith("--"));
  const flags = process.argv.slice(2).filter((a) => !positional.includes(a));
  const args = parseArgs(flags, { minCos: 0.999 }, USAGE);
  if (positional.length !== 2) die(USAGE);
  const [a, b] = positional.map((p) => byIndex(readJsonl(p)));
  const bMap = new Map(b.map((x) => [x.key, x.row]));
  if (a.length !== b.length) die(`${positional[0]} has ${a.length} lines, ${positional[1]} has ${b.length}`);

  let worst = 1, sum = 0, failures = 0, tokenMismatches = 0;
  for (const { key, row } of a) {
    const other = bMap.get(key);
    if (!other) die(`index ${key} missing from ${positional[1]}`);
    if (!Array.isArray(row.embedding) || !Array.isArray(other.embedding)) die(`index ${key}: no "embedding" array`);
    if (row.embedding.length !== other.embedding.length)
      die(`index ${key}: dimensions differ (${row.embedding.length} vs ${other.embedding.length})`);
    const c = cosine(row.embedding, other.embedding);
    const tokensDiffer =
      Array.isArray(row.tokens) && Array.isArray(other.tokens) && JSON.stringify(row.tokens) !== JSON.stringify(other.tokens);
    if (tokensDiffer) tokenMismatches++;
    worst = Math.min(worst, c);
    sum += c;
    if (c < args.minCos) {
      failures++;
      process.stdout.write(`index ${key}: cos ${c.toFixed(6)}${tokensDiffer ? " (token ids differ)" : ""}\n`);
    }
  }
  const summary = {
    pairs: a.length,
    min_cos: Number(worst.toFixed(6)),
    mean_cos: Number((sum / Math.max(1, a.length)).toFixed(6)),
    below_threshold: failures,
    token_mismatches: tokenMismatches,
    min_cos_required: args.minCos,
  };
  process.stdout.write(JSON.stringify(summary) + "\n");
  process.exit(failures > 0 ? 1 : 0);
}

main();
