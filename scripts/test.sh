#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: set-up (apt, npm, build), then
#   1. unit tests of every stage (ctest; kernels at every SIMD level vs their scalar references),
#   2. CLI tests as a user runs qembed (node:test),
#   3. oracle tests: token ids vs HF tokenizers, quant block layouts vs ggml, embeddings vs llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
export QEMBED_BUILD_DIR=${QEMBED_BUILD_DIR:-build}
scripts/setup.sh

echo "== unit tests" >&2
ctest --test-dir "$QEMBED_BUILD_DIR" --output-on-failure -j2 --timeout 1200

echo "== parsers under AddressSanitizer + UBSan" >&2
# The stages that read outside bytes (files, text) are rebuilt with sanitizers and their tests rerun.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQEMBED_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" --target test_formats test_tokenizer
build-asan/test_formats --gtest_brief=1
build-asan/test_tokenizer --gtest_brief=1

echo "== CLI tests" >&2
node --test --test-concurrency=1 tests/cli/

echo "== server tests" >&2
node --test --test-concurrency=1 tests/server/

echo "== oracle: token ids vs HF tokenizers" >&2
TOK_MODEL="$QEMBED_BUILD_DIR/test-models/tiny-F32.gguf"
node tests/oracle/tokenizer_parity.mjs --qembed-cmd "$QEMBED_BUILD_DIR/qembed tokenize --model $TOK_MODEL --input -"

echo "== oracle: quant block layouts vs ggml" >&2
tests/oracle/run_ggml_quant_crosscheck.sh

echo "== oracle: embeddings vs llama.cpp" >&2
node --test --test-concurrency=1 tests/oracle/

echo "test: all passed" >&2
