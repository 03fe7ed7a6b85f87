#!/usr/bin/env bash
# Per-query latency of short instructed queries ("Instruct: {task}\nQuery:{q}", 30 built-in queries of 3-15
# words, one at a time, text to embedding) through llama.cpp and through `qembed serve` (prompt_name "query") on
# the benchmark model of --shape (default 0.6b).
#
#   scripts/bench_query_latency.sh [--shape 0.6b|4b|8b] [--type Q8_0] [--threads 2]
#
# The model is cached under models/bench/ (see scripts/bench_common.sh). The formatted queries are written to
# models/bench/queries.jsonl so another engine can time the same inputs. Prints llama.cpp's p50/p90/mean ms,
# qembed's, and qembed's p50 against the time to stream its repacked weights once at the read bandwidth measured
# in the same run (build/bench-dot-rates), then, last, a JSON summary line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPE="Q8_0"
THREADS=2
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --type) TYPE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --shape) shift 2 ;;  # read by bench_common.sh
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"

model="$(ensure_model "$TYPE")"
QUERIES_FILE="$BENCH_DIR/queries.jsonl"
node "$ROOT/tests/oracle/llama_query_latency.mjs" --dump-queries "$QUERIES_FILE"

warn_if_busy
out_llama="$BENCH_DIR/last-llama-latency-$TYPE.txt"
node "$ROOT/tests/oracle/llama_query_latency.mjs" --model "$model" --threads "$THREADS" > "$out_llama" \
  || die "llama.cpp latency run failed"
llama_json="$(grep -v '^\s*$' "$out_llama" | tail -n 1)"
printf 'llama.cpp %s, %s threads: p50 %s ms, p90 %s ms, mean %s ms over %s queries (%s tokens avg)\n' "$TYPE" \
  "$THREADS" "$(jq -r .p50_ms <<< "$llama_json")" "$(jq -r .p90_ms <<< "$llama_json")" \
  "$(jq -r .mean_ms <<< "$llama_json")" "$(jq -r .queries <<< "$llama_json")" "$(jq -r .mean_tokens <<< "$llama_json")"

qembed_json="$(QEMBED_BUILD_DIR="$BUILD_DIR" node "$ROOT/tests/server/query_latency.mjs" --model "$model" \
  --threads "$THREADS" | tail -n 1)" || die "qembed latency run failed"
ratio="$(jq -n "$(jq -r .p50_ms <<< "$llama_json") / $(jq -r .p50_ms <<< "$qembed_json") * 100 | round / 100")"
printf 'qembed serve %s, %s threads: p50 %s ms, p90 %s ms, mean %s ms (%s tokens avg)\nllama p50 / qembed p50: %s\n' \
  "$TYPE" "$THREADS" "$(jq -r .p50_ms <<< "$qembed_json")" "$(jq -r .p90_ms <<< "$qembed_json")" \
  "$(jq -r .mean_ms <<< "$qembed_json")" "$(jq -r .mean_tokens <<< "$qembed_json")" "$ratio"

# The floor for a few-token query: reading the weights qembed holds for its kernels once, at the read bandwidth
# this machine shows now with the same threads (bench-dot-rates).
repacked_bytes="$("$BUILD_DIR/qembed" info --model "$model" --threads "$THREADS" --json | jq -r .repacked_bytes)"
bandwidth="$("$(find_tool bench-dot-rates)" "$THREADS" | awk '/^read bandwidth/ { print $3 }')"
floor_ms="$(jq -n "$repacked_bytes / ($bandwidth * 1e9) * 1e3 * 10 | round / 10")"
floor_ratio="$(jq -n "$(jq -r .p50_ms <<< "$qembed_json") / $floor_ms * 100 | round / 100")"
printf 'weights %s MB at %s GB/s: streaming them once takes %s ms; qembed p50 / that floor: %s\n' \
  "$(jq -n "$repacked_bytes / 1e6 | round")" "$bandwidth" "$floor_ms" "$floor_ratio"

jq -nc --argjson machine "$(cpu_level_json)" --arg shape "$BENCH_SHAPE" --arg type "$TYPE" --argjson threads "$THREADS" --argjson llama "$llama_json" --argjson qembed "$qembed_json" \
  --argjson ratio "$ratio" --argjson floor "$floor_ms" --argjson floor_ratio "$floor_ratio" --argjson bw "$bandwidth" \
  '{bench: "query_latency", machine: $machine, shape: $shape, type: $type, threads: $threads,
    llama: {p50_ms: $llama.p50_ms, p90_ms: $llama.p90_ms, mean_ms: $llama.mean_ms, queries: $llama.queries},
    qembed: $qembed, p50_ratio: $ratio, read_gb_per_s: $bw, weight_stream_ms: $floor, p50_over_stream: $floor_ratio}'
