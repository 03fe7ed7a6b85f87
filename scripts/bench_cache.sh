#!/usr/bin/env bash
# The embedding cache under a hot-query workload (Zipf over ~2,000 distinct short queries, fixed concurrency):
# throughput and p50/p99 with no cache, the in-process cache, the cache plus Redis, and the cross-replica hit rate
# of two `qembed serve` sharing one Redis. Uses a generated model (default the small shape, Q8_0) and a throwaway
# redis-server on a free loopback port; not a CI stage.
#
#   scripts/bench_cache.sh [--shape tiny|small] [--requests 3000] [--concurrency 8] [--queries 2000] [--zipf 1.1]
#                          [--threads 2]
#
# Needs build/qembed, build/qembed-make-model and redis-server (scripts/setup.sh installs it). Last line: JSON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
command -v redis-server >/dev/null || { echo "error: redis-server not found (apt install redis-server)" >&2; exit 1; }
BUILD_DIR="${QEMBED_BUILD_DIR:-$ROOT/build}"
[ -x "$BUILD_DIR/qembed" ] || { echo "error: $BUILD_DIR/qembed not built" >&2; exit 1; }
QEMBED_BUILD_DIR="$BUILD_DIR" exec node "$ROOT/tests/server/cache_bench.mjs" "$@"
