#!/usr/bin/env bash
# Knowledge-base vector search benchmark (issue 10): N stored 1024-dim unit vectors from a seeded Gaussian mixture,
# imported into a SQLite store per stored type (f32, f16, int8); index build and reopen times, bytes per vector,
# exact and HNSW search latency (p50/p99, one query at a time) and recall@10 against exact search at several ef;
# FAISS (Debian's libfaiss-dev: IndexIVFFlat by default, --faiss-index hnsw) on the same vectors in the same
# process as the anchor, searched one query at a time on one thread like qembed.
#
#   scripts/bench_kb_vectors.sh [--n 1000000] [--queries 1000] [--types f32,f16,int8] [--ef 10,20,...]
#                               [--threads 2] [--dir /tmp/qembed-bench-kb] [--no-faiss] [...]
#
# Every flag goes to bench-kb-vectors (tools/bench_kb_vectors.cpp lists them all). Builds the tool in a Release
# build folder first when needed (QEMBED_BUILD_DIR, default build/; needs libfaiss-dev: scripts/setup.sh installs
# it). Runs under nice; the store files go to --dir and are deleted afterwards unless --keep. At 1M x 1024 the
# run needs ~9 GB of memory at its peak (the f32 graph being built beside the rows it is built from) and ~9 GB of
# disk for the three stores. Prints a table, then one JSON line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

case "${1:-}" in -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

if [[ ! -x "$BUILD_DIR/bench-kb-vectors" ]] || [[ -n "$(find "$ROOT/src/kb/store" "$ROOT/tools/bench_kb_vectors.cpp" \
      -newer "$BUILD_DIR/bench-kb-vectors" -print -quit)" ]]; then
  log "building bench-kb-vectors in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target bench-kb-vectors -j"$(nproc)" >&2 \
    || die "could not build bench-kb-vectors (is libfaiss-dev installed? scripts/setup.sh installs it)"
fi
warn_if_busy
exec nice -n 19 "$BUILD_DIR/bench-kb-vectors" "$@"
