// Shared pieces of the llama.cpp oracle scripts: argument parsing, JSONL I/O, loading a GGUF through
// node-llama-cpp (CPU only, prebuilt binaries, never a source build) and Qwen3-Embedding token handling.
import fs from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

/** Qwen3 `<|endoftext|>`: the tokenizer appends it to every input and the embedding is pooled there. */
export const QWEN3_EOS = 151643;

/** Parses `--key value` / `--flag` arguments; `spec` maps each key to its default (booleans are flags). */
export function parseArgs(argv, spec, usage) {
  const args = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(usage + "\n");
      process.exit(0);
    }
    if (!a.startsWith("--")) die(`unexpected argument '${a}'\n${usage}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in spec)) die(`unknown option '${a}'\n${usage}`);
    if (typeof spec[key] === "boolean") {
      args[key] = true;
    } else {
      if (i + 1 >= argv.length) die(`option '${a}' needs a value`);
      const v = argv[++i];
      args[key] = typeof spec[key] === "number" ? Number(v) : v;
      if (typeof spec[key] === "number" && !Number.isFinite(args[key])) die(`option '${a}': '${v}' is not a number`);
    }
  }
  return args;
}

export function die(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

/** Reads a JSONL file into an array of objects; names the line on a parse error. */
export function readJsonl(path) {
  const lines = fs.readFileSync(path, "utf8").split("\n");
  const rows = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      rows.push(JSON.parse(line));
    } catch (e) {
      die(`${path}:${i + 1}: invalid JSON (${e.message})`);
    }
  });
  return rows;
}

/** Loads the llama.cpp CPU backend with at most `threads` threads and the model at `modelPath`. */
export async function loadModel(modelPath, threads) {
  if (!fs.existsSync(modelPath)) die(`model file not found: ${modelPath}`);
  const llama = await getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    maxThreads: threads,
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  return { llama, model };
}

/**
 * Creates an embedding context whose context and batch (= ubatch in node-llama-cpp) hold the longest input in
 * one decode, so llama.cpp evaluates each document in a single graph, as the rival engine does.
 */
export async function createEmbeddingContext(model, maxTokens, threads) {
  const size = Math.max(64, Math.ceil((maxTokens + 1) / 64) * 64);
  return await model.createEmbeddingContext({ contextSize: size, batchSize: size, threads });
}

/**
 * llama.cpp's tokenization of `text` the way Qwen3-Embedding wants it: special tokens such as `<|im_start|>`
 * are matched as whole tokens (like HF tokenizers' added tokens) and exactly one EOS ends the sequence.
 */
export function tokenizeForEmbedding(model, text) {
  const tokens = Array.from(model.tokenize(text, true));
  if (tokens.at(-1) !== QWEN3_EOS) tokens.push(QWEN3_EOS);
  return tokens;
}

/** Throws unless node-llama-cpp will evaluate `tokens` unchanged (it may prepend BOS / append EOS). */
export function assertEvaluatedAsIs(ctx, tokens) {
  const n = ctx.calculateInputLength(tokens);
  if (n !== tokens.length)
    throw new Error(`node-llama-cpp would evaluate ${n} tokens instead of the ${tokens.length} given (BOS/EOS added)`);
}

export function l2normalize(vec) {
  let ss = 0;
  for (const v of vec) ss += v * v;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  return vec.map((v) => v * inv);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}
