#!/usr/bin/env bash
# Knowledge-base search latency while a large ingestion runs, through `qembed serve --kb` (driver:
# tests/server/kb_search_latency.mjs): idle hybrid-search p50, then the p50 during the ingestion of --docs documents;
# the issue asks for at most 2x.
#
#   scripts/bench_kb_search_latency.sh [--type Q8_0] [--threads 2] [--docs 300] [--words 250] [--think-ms 500]
#                                      [--store sqlite|postgresql]   (postgresql: a throwaway PostgreSQL 15)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPE="Q8_0"; PASS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --type) TYPE="$2"; shift 2 ;;
    --threads|--docs|--words|--think-ms|--idle-queries|--store) PASS+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
find_tool qembed >/dev/null
model="$(ensure_model "$TYPE")"
warn_if_busy
QEMBED_BUILD_DIR="$BUILD_DIR" node "$ROOT/tests/server/kb_search_latency.mjs" --model "$model" "${PASS[@]}"
