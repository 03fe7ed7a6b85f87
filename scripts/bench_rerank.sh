#!/usr/bin/env bash
# Reranking throughput, qembed vs llama.cpp (node-llama-cpp's ranking context), same files, same token ids, one run.
#
#   scripts/bench_rerank.sh [--types "Q8_0 F16 Q4_K_M"] [--threads 2] [--docs 50] [--tokens 200]
#
# Workload: one query and --docs English paragraphs of about --tokens tokens each (tests/oracle/make_paragraphs.mjs),
# the Qwen3-Reranker prompt around every pair (~60 more tokens). Models: a Qwen3-Reranker in the 0.6B shape with
# seeded random weights (qembed-make-model --reranker), quantized per type by llama.cpp's own quantizer and cached
# under models/bench/. qembed runs `qembed rerank` (one request: the query's prompt is computed once and shared);
# llama.cpp evaluates the very token ids qembed saw (`qembed rerank --tokens`), one document per decode, as its
# ranking context does. Both time the scoring only, after the model is loaded. Prints a table and a JSON line with
# documents/s per engine and the ratio; also checks the scores agree (max |Δscore|).
set -euo pipefail
BENCH_MODEL_PREFIX=qwen3-reranker-0.6b-shape
BENCH_MAKE_FLAGS=--reranker
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPES="Q8_0 F16 Q4_K_M"
THREADS=2
DOCS=50
TOKENS=200
QUERY="Which factors decide how quickly a city can recover after a major flood?"
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --types) TYPES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --docs) DOCS="$2"; shift 2 ;;
    --tokens) TOKENS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
for v in THREADS DOCS TOKENS; do [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive integer"; done

QEMBED="$(find_tool qembed)"
mkdir -p "$BENCH_DIR"
DOCS_FILE="$BENCH_DIR/rerank-docs-$DOCS-$TOKENS-seed$BENCH_SEED.jsonl"
if [[ ! -s "$DOCS_FILE" ]]; then
  node "$ROOT/tests/oracle/make_paragraphs.mjs" --docs "$DOCS" --tokens "$TOKENS" --seed "$BENCH_SEED" \
    --output "$DOCS_FILE.tmp"
  mv "$DOCS_FILE.tmp" "$DOCS_FILE"
fi

warn_if_busy
RESULTS="[]"
printf '%-8s %14s %14s %8s %12s\n' type "llama docs/s" "qembed docs/s" ratio "max |Δscore|"
for type in $TYPES; do
  model="$(ensure_model "$type")"
  ours="$BENCH_DIR/last-rerank-qembed-$type.jsonl"
  "$QEMBED" rerank --model "$model" --query "$QUERY" --input "$DOCS_FILE" --threads "$THREADS" --tokens \
    > "$ours" 2> "$ours.log" || die "qembed rerank failed for $type (see $ours.log)"
  qembed_dps="$(sed -n 's/.*: \([0-9.]*\) documents\/s.*/\1/p' "$ours.log" | tail -n 1)"
  [[ -n "$qembed_dps" ]] || die "no documents/s line in $ours.log"
  theirs="$BENCH_DIR/last-rerank-llama-$type.jsonl"
  llama_json="$(node "$ROOT/tests/oracle/llama_rank.mjs" --model "$model" --input "$ours" --output "$theirs" \
    --threads "$THREADS")" || die "llama.cpp ranking failed for $type"
  llama_dps="$(jq -r '.docs_per_s * 100 | round / 100' <<< "$llama_json")"
  ratio="$(jq -n --argjson q "$qembed_dps" --argjson l "$llama_dps" '$q / $l * 100 | round / 100')"
  delta="$(jq -s '[.[0], .[1]] | transpose | map(.[0].score - .[1].score | if . < 0 then -. else . end) | max' \
    <(jq -s '.' "$ours") <(jq -s '.' "$theirs") | jq -r '. * 1e6 | round / 1e6')"
  printf '%-8s %14s %14s %8s %12s\n' "$type" "$llama_dps" "$qembed_dps" "$ratio" "$delta"
  RESULTS="$(jq -c --arg type "$type" --argjson l "$llama_dps" --argjson q "$qembed_dps" --argjson r "$ratio" \
    --argjson d "$delta" '. + [{type: $type, llama_docs_per_s: $l, qembed_docs_per_s: $q, ratio: $r, max_score_delta: $d}]' \
    <<< "$RESULTS")"
done
jq -nc --argjson machine "$(cpu_level_json)" --argjson threads "$THREADS" --argjson docs "$DOCS" --argjson tokens "$TOKENS" \
  --argjson results "$RESULTS" \
  '{bench: "rerank_vs_llamacpp", machine: $machine, shape: "0.6b", threads: $threads, documents: $docs, doc_tokens: $tokens,
    results: $results}'
