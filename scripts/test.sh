#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine, stage by stage (each stage's time is printed, and a summary
# table at the end):
#   1. layering: every #include follows the stage rules (scripts/check_layering.sh),
#   2. set-up (apt, npm) and a warnings-as-errors Release build,
#   3. unit tests of every stage (ctest; kernels at every SIMD level vs their scalar references),
#   4. parsers and tokenizer under AddressSanitizer + UBSan,
#   5. fuzz: every parser of outside bytes under libFuzzer for a bounded time (scripts/run_fuzz.sh),
#   6. CLI and server tests as a user runs qembed (node:test), replicas behind nginx (deploy/), and the web UI in
#      headless chromium,
#   7. oracle tests: token ids vs HF tokenizers, quant block layouts vs ggml, embeddings vs llama.cpp.
# QEMBED_FUZZ_SECONDS (default 20) is the time per fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
export QEMBED_BUILD_DIR=${QEMBED_BUILD_DIR:-build}

stage_names=()
stage_seconds=()
stage_name=""
stage_start=0
suite_start=$SECONDS
# Ends the running stage (recording its time) and starts the next one; `stage ""` only ends the running one.
stage() {
  if [ -n "$stage_name" ]; then
    local took=$((SECONDS - stage_start))
    stage_names+=("$stage_name")
    stage_seconds+=("$took")
    echo "== $stage_name: $took s" >&2
  fi
  stage_name=$1
  stage_start=$SECONDS
  [ -z "$stage_name" ] || echo "== $stage_name" >&2
}
summary() {
  local rc=$? failed=$stage_name
  stage ""
  echo "== stage times" >&2
  local i
  for i in "${!stage_names[@]}"; do
    printf '   %-34s %5d s%s\n' "${stage_names[$i]}" "${stage_seconds[$i]}" \
      "$([ "$rc" -ne 0 ] && [ "${stage_names[$i]}" = "$failed" ] && echo '   FAILED')" >&2
  done
  printf '   %-34s %5d s\n' "total" "$((SECONDS - suite_start))" >&2
}
trap summary EXIT

stage "layering"
scripts/check_layering.sh

stage "set-up and -Werror build"
QEMBED_WERROR=1 scripts/setup.sh

stage "unit tests"
ctest --test-dir "$QEMBED_BUILD_DIR" --output-on-failure -j2 --timeout 1200

stage "parsers under ASan + UBSan"
# The stages that read outside bytes (files, text) are rebuilt with sanitizers and their tests rerun.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQEMBED_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" --target test_formats test_tokenizer
build-asan/test_formats --gtest_brief=1
build-asan/test_tokenizer --gtest_brief=1

stage "fuzz"
# A second (clang) build of only the stages the fuzz targets link, then each target for a bounded time.
scripts/run_fuzz.sh --seconds "${QEMBED_FUZZ_SECONDS:-20}"

stage "CLI tests"
node --test --test-concurrency=1 tests/cli/

stage "server tests"
node --test --test-concurrency=1 tests/server/

stage "deploy: replicas behind nginx"
# deploy/ as a user runs it: PostgreSQL, Redis, nginx (deploy/nginx/qembed.conf) and 3 replicas started with the
# systemd unit's ExecStart; kill -9 of a replica, Redis and PostgreSQL restarts under load (docs/deploy.md).
node --test --test-concurrency=1 tests/deploy/

stage "web UI tests"
# The UI in Debian's chromium (headless, playwright-core): knowledge, search, playground, server page, keys, Chinese.
nice -n 19 node --test --test-concurrency=1 tests/web/

stage "oracle: token ids vs HF tokenizers"
TOK_MODEL="$QEMBED_BUILD_DIR/test-models/tiny-F32.gguf"
node tests/oracle/tokenizer_parity.mjs --qembed-cmd "$QEMBED_BUILD_DIR/qembed tokenize --model $TOK_MODEL --input -"

stage "oracle: quant layouts vs ggml"
tests/oracle/run_ggml_quant_crosscheck.sh

stage "oracle: embeddings vs llama.cpp"
node --test --test-concurrency=1 tests/oracle/

stage ""
echo "test: all passed" >&2
