// libFuzzer target for the GGUF parser. Build (outside CMake) with:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_gguf.cpp src/formats/*.cpp -o
//   fuzz_gguf
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "formats/gguf_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // GgufFile reads through a memory map, so the bytes go through a real file like a user's model would.
  static const std::string path = "/tmp/qembed_fuzz_gguf_" + std::to_string(::getpid()) + ".gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    auto gguf = qembed::GgufFile::open(path);
    size_t sum = 0;
    for (const auto& t : gguf->tensors()) {
      if (t.n_bytes != 0) sum += t.data[0] + t.data[t.n_bytes - 1];  // ASan catches a bad data pointer
    }
    (void)sum;
  } catch (const qembed::Error&) {
    // Rejecting bad input with Error is the expected outcome.
  }
  return 0;
}
