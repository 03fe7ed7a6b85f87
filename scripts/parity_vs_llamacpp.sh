#!/usr/bin/env bash
# Embedding parity with llama.cpp on the benchmark models of any shape — the larger 4B/8B shapes the test suite
# cannot afford (tests/oracle/llama_parity.test.mjs covers every type on the tiny shape in CI).
#
#   scripts/parity_vs_llamacpp.sh [--shape 0.6b|4b|8b] [--types "Q4_K_M Q8_0"] [--threads 2]
#
# Both engines get the same token ids (`qembed tokenize` of tests/oracle/parity_corpus.mjs: 20 texts in several
# languages, code, emoji, up to ~2,500 characters); the pooled vectors are compared by cosine with the CI
# thresholds (F32/F16 0.99999, BF16/Q8_0 0.9995, 4-6-bit types 0.995). Exits 1 if any type misses its threshold.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPES="Q4_K_M Q8_0"
THREADS=2
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --types) TYPES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --shape) shift 2 ;;  # read by bench_common.sh
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"

QEMBED="$(find_tool qembed)"
mkdir -p "$BENCH_DIR"
TEXTS="$BENCH_DIR/parity-texts.jsonl"
node --input-type=module -e '
  import { PARITY_CORPUS } from "'"$ROOT"'/tests/oracle/parity_corpus.mjs";
  for (const text of PARITY_CORPUS) console.log(JSON.stringify({ text }));' > "$TEXTS"

status=0
for type in $TYPES; do
  case "$type" in F32|F16) min=0.99999 ;; BF16|Q8_0) min=0.9995 ;; *) min=0.995 ;; esac
  model="$(ensure_model "$type")"
  tokens="$BENCH_DIR/parity-$BENCH_SHAPE-$type-tokens.jsonl"
  "$QEMBED" tokenize --model "$model" --input "$TEXTS" | jq -c '{tokens}' > "$tokens"
  "$QEMBED" embed --model "$model" --input "$TEXTS" --threads "$THREADS" > "$BENCH_DIR/parity-$BENCH_SHAPE-$type-qembed.jsonl"
  node "$ROOT/tests/oracle/llama_embed.mjs" --model "$model" --input "$tokens" \
    --output "$BENCH_DIR/parity-$BENCH_SHAPE-$type-llama.jsonl" --threads "$THREADS" >&2
  printf '%s %s: ' "$BENCH_SHAPE" "$type"
  node "$ROOT/tests/oracle/compare_embeddings.mjs" "$BENCH_DIR/parity-$BENCH_SHAPE-$type-qembed.jsonl" \
    "$BENCH_DIR/parity-$BENCH_SHAPE-$type-llama.jsonl" --min-cos "$min" | tail -n 1 || status=1
done
exit $status
