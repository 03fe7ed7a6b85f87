#!/usr/bin/env node
// llama.cpp as an embedding oracle: embeds every line of a JSONL file with node-llama-cpp (CPU).
//
//   node tests/oracle/llama_embed.mjs --model M.gguf --input tokens.jsonl --output out.jsonl [--threads 2]
//   node tests/oracle/llama_embed.mjs --model M.gguf --input texts.jsonl --output out.jsonl --text
//
// Token mode: each line is {"tokens":[ids...]}, ids already ending in EOS 151643 (as `qembed tokenize` writes
// them); llama.cpp evaluates exactly those ids (checked: node-llama-cpp adds BOS/EOS only when missing).
// Text mode: each line is {"text":"..."}; llama.cpp tokenizes (special tokens parsed, no NFC) and one EOS is
// appended; the ids are written back as "tokens" so tokenizers can be compared.
// Output lines: {"index", "n_tokens", "embedding"[, "tokens"]}. The embedding is llama.cpp's pooled vector
// (pooling from the GGUF; Qwen3-Embedding: last token) L2-normalized, or as llama.cpp returns it with --raw.
import fs from "node:fs";
import {
  parseArgs,
  readJsonl,
  die,
  loadModel,
  createEmbeddingContext,
  tokenizeForEmbedding,
  assertEvaluatedAsIs,
  l2normalize,
} from "./llama_common.mjs";

const USAGE =
  "usage: node tests/oracle/llama_embed.mjs --model M.gguf --input in.jsonl --output out.jsonl " +
  "[--threads 2] [--text] [--raw]";

async function main() {
  const args = parseArgs(
    process.argv.slice(2),
    { model: "", input: "", output: "", threads: 2, text: false, raw: false },
    USAGE,
  );
  if (!args.model || !args.input || !args.output) die(USAGE);

  const rows = readJsonl(args.input);
  const { llama, model } = await loadModel(args.model, args.threads);

  const sequences = rows.map((row, i) => {
    if (args.text) {
      if (typeof row.text !== "string") die(`${args.input}: line ${i + 1} has no "text" string`);
      return tokenizeForEmbedding(model, row.text);
    }
    if (!Array.isArray(row.tokens) || row.tokens.length === 0 || !row.tokens.every(Number.isInteger))
      die(`${args.input}: line ${i + 1} has no non-empty integer "tokens" array`);
    return row.tokens;
  });
  const maxTokens = Math.max(1, ...sequences.map((s) => s.length));
  const ctx = await createEmbeddingContext(model, maxTokens, args.threads);

  const out = fs.openSync(args.output, "w");
  for (let i = 0; i < sequences.length; i++) {
    const tokens = sequences[i];
    assertEvaluatedAsIs(ctx, tokens);
    const { vector } = await ctx.getEmbeddingFor(tokens);
    const embedding = args.raw ? Array.from(vector) : l2normalize(Array.from(vector));
    const line = { index: i, n_tokens: tokens.length, embedding };
    if (args.text) line.tokens = tokens;
    fs.writeSync(out, JSON.stringify(line) + "\n");
  }
  fs.closeSync(out);
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => die(e.stack || String(e)));
