#!/usr/bin/env bash
# Query latency under bulk load, qembed against its own idle latency (and optionally llama.cpp's server side by
# side): 8 clients stream ~220-token documents while one user sends short queries one at a time, on the 0.6B-shape
# benchmark model. Targets: query p50 <= 2x and p99 <= 4x the idle p50; document rate >= 0.9x documents only.
#
#   scripts/bench_load_latency.sh [--type Q8_0] [--threads 2] [--seconds 30] [--clients 8] [--docs-per-request 1]
#                                 [--think-ms 1000] [--llama-server PATH] [--server-args "..."]
#
# The query user pauses --think-ms (default 1000) between a result and the next query, as a person reading results
# does: its own queries cost compute the documents then do not get, so back-to-back queries (--think-ms 0) lower
# the document rate by their share whatever the scheduler does.
# --llama-server PATH: also run llama.cpp's own server (built from source elsewhere; it is not in the registries
# here) as `PATH -m MODEL --embeddings --pooling last -t THREADS --port P` through the same client.
# Prints each server's summary, last a JSON line per server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPE="Q8_0"; THREADS=2; SECONDS_PER_PHASE=30; CLIENTS=8; DOCS_PER_REQUEST=1; THINK_MS=1000; LLAMA_SERVER=""
SERVER_ARGS=""
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --type) TYPE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --docs-per-request) DOCS_PER_REQUEST="$2"; shift 2 ;;
    --think-ms) THINK_MS="$2"; shift 2 ;;
    --llama-server) LLAMA_SERVER="$2"; shift 2 ;;
    --server-args) SERVER_ARGS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"

model="$(ensure_model "$TYPE")"
docs="$BENCH_DIR/docs-24-seed42.jsonl"
[[ -s "$docs" ]] || die "$docs is missing: scripts/bench_vs_llamacpp.sh writes it"
common=(--threads "$THREADS" --seconds "$SECONDS_PER_PHASE" --clients "$CLIENTS" --docs-per-request "$DOCS_PER_REQUEST"
        --think-ms "$THINK_MS" --docs "$docs")

warn_if_busy
log "qembed serve, $TYPE, $THREADS threads: $CLIENTS document clients + 1 query user, ${SECONDS_PER_PHASE} s per phase"
qembed_json="$(QEMBED_BUILD_DIR="$BUILD_DIR" node "$ROOT/tests/server/load_latency.mjs" --model "$model" \
  --server-args "$SERVER_ARGS" --label qembed "${common[@]}" | tail -n 1)" || die "qembed run failed"

llama_json=""
if [[ -n "$LLAMA_SERVER" ]]; then
  [[ -x "$LLAMA_SERVER" ]] || die "--llama-server $LLAMA_SERVER is not an executable"
  port=$((20000 + RANDOM % 20000))
  "$LLAMA_SERVER" -m "$model" --embeddings --pooling last -t "$THREADS" --port "$port" --host 127.0.0.1 \
    > "$BENCH_DIR/llama-server.log" 2>&1 &
  llama_pid=$!
  trap 'kill $llama_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/health" > /dev/null 2>&1 && break
    sleep 0.5
  done
  log "llama-server, $TYPE, $THREADS threads"
  llama_json="$(node "$ROOT/tests/server/load_latency.mjs" --url "http://127.0.0.1:$port" --label llama-server \
    "${common[@]}" | tail -n 1)" || die "llama-server run failed"
  kill "$llama_pid" 2>/dev/null || true
fi

show() {
  jq -r '"\(.server): idle p50 \(.idle_p50_ms) ms; under load p50 \(.loaded_p50_ms) ms (\(.p50_ratio)x), p99 \(.loaded_p99_ms) ms (\(.p99_ratio)x) over \(.loaded_queries) queries; documents \(.mixed_docs_per_s)/s vs \(.docs_only_per_s)/s alone answered, compute for documents \(.docs_ratio)x documents only; targets met: \(.targets_met)"' <<< "$1"
}
show "$qembed_json"
[[ -z "$llama_json" ]] || show "$llama_json"
echo "$qembed_json"
[[ -z "$llama_json" ]] || echo "$llama_json"
