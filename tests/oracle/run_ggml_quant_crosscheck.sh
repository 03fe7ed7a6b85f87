#!/usr/bin/env bash
# Builds tests/oracle/ggml_quant_crosscheck.cpp against qembed's quant codecs and runs it against llama.cpp's
# libggml-base.so from node-llama-cpp (npm ci first). Exit status: 0 match, 1 mismatch, 2 library unusable.
# Usage: tests/oracle/run_ggml_quant_crosscheck.sh [build-dir] [libggml-base.so]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${1:-$root/build}"
lib="${2:-$root/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so}"
if [[ ! -f "$lib" ]]; then
  echo "libggml-base.so not found at $lib (run npm ci)" >&2
  exit 2
fi
mkdir -p "$build_dir"
exe="$build_dir/ggml_quant_crosscheck"
"${CXX:-g++}" -std=c++20 -O2 -Wall -Wextra -I"$root/src" \
  "$root/tests/oracle/ggml_quant_crosscheck.cpp" \
  "$root/src/kernels/fp16.cpp" \
  "$root/src/kernels/quant_blocks.cpp" \
  "$root/src/kernels/quant_blocks_legacy.cpp" \
  "$root/src/kernels/quant_blocks_kquants.cpp" \
  -ldl -o "$exe"
exec "$exe" "$lib"
