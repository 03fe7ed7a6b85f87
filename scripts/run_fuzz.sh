#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_<name>.cpp) with clang, ASan and UBSan in build-fuzz/ and runs each
# for a bounded time over a scratch copy of its committed seeds (tests/fuzz/corpus/<name>/ and the saved findings in
# tests/fuzz/crashes/<name>/), so CI never grows the committed corpus. Exits 1 when any target finds a crash,
# leak, timeout or out-of-memory, printing the reproducer.
#
#   scripts/run_fuzz.sh [--seconds N] [--targets "gguf jsonl ..."] [--build-dir DIR]
#
# Reproduce a finding:  build-fuzz/fuzz_<name> path/to/crash-...   (add it under tests/fuzz/crashes/<name>/)
# Fuzz longer by hand:  build-fuzz/fuzz_<name> -max_total_time=600 build-fuzz/fuzz-run/<name>/corpus
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
targets=""
build_dir=build-fuzz
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_fuzz: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run_fuzz: --seconds expects a positive integer" >&2; exit 2; }
if [ -z "$targets" ]; then
  targets=$(for f in tests/fuzz/fuzz_*.cpp; do basename "$f" .cpp; done | sed 's/^fuzz_//' | tr '\n' ' ')
fi
command -v clang++ >/dev/null || { echo "run_fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 2; }

# -O1 -g without NDEBUG: asserts stay on, stacks stay readable.
cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQEMBED_FUZZ=ON \
  -DQEMBED_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
build_targets=()
for t in $targets; do build_targets+=("fuzz_$t"); done
echo "run_fuzz: building ${build_targets[*]} in $build_dir" >&2
cmake --build "$build_dir" -j"$(nproc)" --target "${build_targets[@]}"

# Targets write each input to a scratch file (the parsers read files); in memory that is ~10x faster than on disk.
scratch_root=/dev/shm
[ -d "$scratch_root" ] && [ -w "$scratch_root" ] || scratch_root=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$scratch_root/qembed-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in $targets; do
  work="$build_dir/fuzz-run/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/corpus/"
  # Past findings run first as seeds: a regression test once fixed, an immediate failure while not.
  [ -d "tests/fuzz/crashes/$t" ] && cp -r "tests/fuzz/crashes/$t/." "$work/corpus/"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
  case "$t" in
    gguf) args+=(-dict=tests/fuzz/gguf.dict) ;;
    tokenizer_json|jsonl|http_body) args+=(-dict=tests/fuzz/json.dict) ;;
    multipart) args+=(-dict=tests/fuzz/multipart.dict) ;;
  esac
  echo "run_fuzz: fuzz_$t for ${seconds} s over $(find "$work/corpus" -type f | wc -l) seeds" >&2
  rc=0
  TMPDIR="$scratch" "$build_dir/fuzz_$t" "${args[@]}" "$work/corpus" >"$work/log.txt" 2>&1 || rc=$?
  findings=$(find "$work/artifacts" -type f | sort)
  if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
    echo "run_fuzz: fuzz_$t FAILED (exit $rc); log $work/log.txt" >&2
    grep -E "ERROR: |SUMMARY: |runtime error|fuzz invariant failed" "$work/log.txt" | head -5 >&2 || true
    tail -n 40 "$work/log.txt" >&2
    for f in $findings; do
      echo "run_fuzz: reproducer: $build_dir/fuzz_$t $f   (save it as tests/fuzz/crashes/$t/$(basename "$f"))" >&2
    done
    failed+=("$t")
  else
    echo "run_fuzz: fuzz_$t ok: $(grep -E '^stat::number_of_executed_units' "$work/log.txt" | awk '{print $2}') runs," \
         "$(grep -E '^stat::new_units_added' "$work/log.txt" | awk '{print $2}') new inputs" >&2
  fi
done

if ((${#failed[@]})); then
  echo "run_fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzz: all targets clean (${seconds} s each)" >&2
