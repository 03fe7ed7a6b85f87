#!/usr/bin/env bash
# Document-embedding throughput, qembed vs llama.cpp, on the same files, inputs and thread count.
#
#   scripts/bench_vs_llamacpp.sh [--shape 0.6b|4b|8b] [--types "Q8_0 F16 Q4_K_M"] [--threads 2] [--docs 24]
#
# Models: the 0.6B shape with seeded random weights (qembed-make-model), quantized per type by llama.cpp's own
# quantizer (llama-quantize-shim), cached under models/bench/; --shape 4b or 8b: the seeds' larger models, made in
# F16 and quantized by `qembed quantize` (scripts/bench_common.sh). Inputs: --docs deterministic English paragraphs
# of ~220 tokens (tests/oracle/make_paragraphs.mjs). Each engine warms up on 2 docs, then embeds all of them;
# model loading and tokenization are not timed. llama.cpp runs through node-llama-cpp, one document per
# decode (it cannot batch embedding sequences); qembed runs `qembed bench`.
# Prints one line per type and, last, a JSON summary. Needs build/qembed, build/qembed-make-model and
# llama-quantize-shim (build/ or build-oracle/); set QEMBED_BUILD_DIR for another build folder.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPES="Q8_0 F16 Q4_K_M"
THREADS=2
DOCS=24
usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --types) TYPES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --shape) shift 2 ;;  # read by bench_common.sh
    --docs) DOCS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"
[[ "$DOCS" =~ ^[1-9][0-9]*$ ]] || die "--docs must be a positive integer"

mkdir -p "$BENCH_DIR"
DOCS_FILE="$BENCH_DIR/docs-$DOCS-seed$BENCH_SEED.jsonl"
if [[ ! -s "$DOCS_FILE" ]]; then
  node "$ROOT/tests/oracle/make_paragraphs.mjs" --docs "$DOCS" --seed "$BENCH_SEED" --output "$DOCS_FILE.tmp"
  mv "$DOCS_FILE.tmp" "$DOCS_FILE"
fi

QEMBED="$BUILD_DIR/qembed"
if [[ ! -x "$QEMBED" ]]; then
  log "warning: $QEMBED not built; reporting llama.cpp only"
  QEMBED=""
fi

# last_json_field FILE FIELD: FIELD of the JSON object on FILE's last non-empty line ("null" if absent).
last_json_field() { grep -v '^\s*$' "$1" | tail -n 1 | jq -r ".$2 // null"; }

warn_if_busy
RESULTS="[]"
printf '%-8s %14s %14s %8s\n' type "llama tok/s" "qembed tok/s" ratio
for type in $TYPES; do
  model="$(ensure_model "$type")"
  out_llama="$BENCH_DIR/last-llama-$type.txt"
  node "$ROOT/tests/oracle/llama_bench.mjs" --model "$model" --input "$DOCS_FILE" --threads "$THREADS" \
    > "$out_llama" || die "llama.cpp bench failed for $type"
  llama_tps="$(last_json_field "$out_llama" tok_per_s)"
  llama_tokens="$(last_json_field "$out_llama" tokens)"

  qembed_tps=null qembed_tokens=null
  if [[ -n "$QEMBED" ]]; then
    out_qembed="$BENCH_DIR/last-qembed-$type.txt"
    if "$QEMBED" bench --model "$model" --input "$DOCS_FILE" --threads "$THREADS" > "$out_qembed"; then
      qembed_tps="$(last_json_field "$out_qembed" tok_per_s)"
      qembed_tokens="$(last_json_field "$out_qembed" tokens)"
    else
      log "warning: qembed bench failed for $type"
    fi
  fi
  ratio="$(jq -n --argjson q "$qembed_tps" --argjson l "$llama_tps" \
    'if $q == null or $l == null or $l == 0 then null else ($q / $l * 100 | round / 100) end')"
  if [[ "$qembed_tokens" != null && "$qembed_tokens" != "$llama_tokens" ]]; then
    log "note: token counts differ for $type (llama.cpp $llama_tokens, qembed $qembed_tokens)"
  fi
  printf '%-8s %14s %14s %8s\n' "$type" "$llama_tps" "$qembed_tps" "$ratio"
  RESULTS="$(jq -c --arg type "$type" --argjson l "$llama_tps" --argjson q "$qembed_tps" --argjson r "$ratio" \
    --argjson lt "$llama_tokens" --argjson qt "$qembed_tokens" \
    '. + [{type: $type, llama_tok_per_s: $l, qembed_tok_per_s: $q, ratio: $r, llama_tokens: $lt, qembed_tokens: $qt}]' \
    <<< "$RESULTS")"
done

jq -nc --argjson machine "$(cpu_level_json)" --arg shape "$BENCH_SHAPE" --argjson threads "$THREADS" --argjson docs "$DOCS" --argjson results "$RESULTS" \
  '{bench: "docs_vs_llamacpp", machine: $machine, shape: $shape, threads: $threads, docs: $docs, results: $results}'
