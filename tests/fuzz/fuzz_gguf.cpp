// libFuzzer target: GGUF files (formats/gguf_reader.hpp) and the tokenizer vocabulary stored in their metadata
// (tokenizer/vocab_gguf.hpp). Any byte string must either open cleanly or be rejected with qembed::Error; every
// tensor's data range must lie inside the mapping. Built by CMake with -DQEMBED_FUZZ=ON (scripts/run_fuzz.sh).
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "formats/gguf_reader.hpp"
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab_gguf.hpp"

namespace {

// Runs `f`; an Error (a type mismatch, a rejected vocabulary) is an expected outcome.
template <class F>
void allowing_error(F&& f) {
  try {
    f();
  } catch (const qembed::Error&) {
  }
}

// Every typed getter on every key: a getter either returns a value or throws Error for a type mismatch.
void read_all_metadata(const qembed::GgufFile& gguf) {
  for (const auto& kv : gguf.metadata()) {
    const std::string& key = kv.first;
    allowing_error([&] { (void)gguf.get_string(key); });
    allowing_error([&] { (void)gguf.get_int(key); });
    allowing_error([&] { (void)gguf.get_float(key); });
    allowing_error([&] { (void)gguf.get_bool(key); });
    allowing_error([&] { (void)gguf.get_string_array(key); });
    allowing_error([&] { (void)gguf.get_int_array(key); });
    if (gguf.find(key) == nullptr) qembed::fuzz::invariant_failed("metadata key not found by find(): " + key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qembed::fuzz::write_scratch_file("gguf", data, size);
  if (path.empty()) return 0;
  std::unique_ptr<qembed::GgufFile> gguf;
  try {
    gguf = qembed::GgufFile::open(path);
  } catch (const qembed::Error&) {
    return 0;  // rejecting bad input with Error is the expected outcome
  }
  read_all_metadata(*gguf);
  unsigned sum = 0;
  for (const auto& t : gguf->tensors()) {
    if (gguf->find_tensor(t.name) == nullptr) qembed::fuzz::invariant_failed("tensor not found by name: " + t.name);
    sum += qembed::fuzz::touch_bytes(t.data, t.n_bytes);  // ASan catches a data range outside the map
  }
  (void)sum;
  allowing_error([&] {
    const qembed::Tokenizer tokenizer(qembed::vocab_from_gguf(*gguf));
    (void)tokenizer.encode("Hello world <|endoftext|> caf\xc3\xa9");
  });
  return 0;
}
