#pragma once
// Helpers shared by the libFuzzer targets: the parsers under test read files (memory maps, streams), so each
// input is written to a per-process scratch file, the way a user's file would reach them.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace qembed::fuzz {

//! Writes `data` to a scratch file named after the target and the process id; returns its path ("" on failure).
inline const std::string& write_scratch_file(const char* target, const uint8_t* data, size_t size) {
  static const std::string path = [&] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/qembed_fuzz_" + target + "_" + std::to_string(::getpid());
  }();
  static const std::string empty;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return empty;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  if (std::fclose(f) != 0 || !ok) return empty;
  return path;
}

//! Reads every byte of [p, p + n) so AddressSanitizer sees a pointer or length that escapes the mapping.
inline unsigned touch_bytes(const uint8_t* p, size_t n) {
  unsigned sum = 0;
  if (n == 0) return 0;
  sum += p[0];
  sum += p[n / 2];
  sum += p[n - 1];
  return sum;
}

//! Aborts with a message: libFuzzer records the input as a crash.
[[noreturn]] inline void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what.c_str());
  std::abort();
}

}  // namespace qembed::fuzz
