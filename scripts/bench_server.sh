#!/usr/bin/env bash
# Served vs offline throughput on the same documents and model: `qembed serve` under N concurrent clients sending
# one ~220-token document per request, against `qembed bench` on the same file. Prints both and the ratio.
#
#   scripts/bench_server.sh [--type Q8_0] [--clients 8] [--seconds 60] [--threads 2]
#
# Uses the cached 0.6B-shape model and documents of scripts/bench_vs_llamacpp.sh (generated on first use).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
TYPE=Q8_0 CLIENTS=8 SECONDS_=60 THREADS=2 DOCS=24
while [[ $# -gt 0 ]]; do
  case "$1" in
    --type) TYPE="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --seconds) SECONDS_="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
mkdir -p "$BENCH_DIR"
DOCS_FILE="$BENCH_DIR/docs-$DOCS-seed$BENCH_SEED.jsonl"
if [[ ! -s "$DOCS_FILE" ]]; then
  node "$ROOT/tests/oracle/make_paragraphs.mjs" --docs "$DOCS" --seed "$BENCH_SEED" --output "$DOCS_FILE.tmp"
  mv "$DOCS_FILE.tmp" "$DOCS_FILE"
fi
model="$(ensure_model "$TYPE")"
offline="$("$BUILD_DIR/qembed" bench --model "$model" --input "$DOCS_FILE" --threads "$THREADS" 2>/dev/null | tail -n 1)"
served="$(QEMBED_BUILD_DIR="$BUILD_DIR" node "$ROOT/tests/server/throughput_bench.mjs" --model "$model" \
  --docs "$DOCS_FILE" --clients "$CLIENTS" --seconds "$SECONDS_" --threads "$THREADS" | tail -n 1)"
off_tps="$(jq -r .tok_per_s <<<"$offline")"
srv_tps="$(jq -r .tok_per_s <<<"$served")"
ratio="$(jq -n "$srv_tps / $off_tps * 100 | round / 100")"
printf 'offline qembed bench: %s tok/s\nserved, %s clients:  %s tok/s\nratio: %s\n' "$off_tps" "$CLIENTS" "$srv_tps" "$ratio"
jq -cn --argjson o "$offline" --argjson s "$served" --argjson r "$ratio" \
  '{bench: "served_vs_offline", type: "'"$TYPE"'", offline: $o, served: $s, ratio: $r}'
