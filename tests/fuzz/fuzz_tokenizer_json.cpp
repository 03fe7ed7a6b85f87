// libFuzzer target: HuggingFace tokenizer.json (tokenizer/vocab.hpp) and the Tokenizer built from it. Any byte
// string must either load or be rejected with qembed::Error; a Tokenizer that loads must encode without crashing.
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qembed::fuzz::write_scratch_file("tokenizer_json", data, size);
  if (path.empty()) return 0;
  try {
    const qembed::Tokenizer tokenizer(qembed::vocab_from_tokenizer_json(path));
    const auto ids = tokenizer.encode("Hello world, the theater! <|endoftext|> caf\xc3\xa9 12345\n\n  x");
    for (const int32_t id : ids) {
      if (id < 0 || id >= tokenizer.n_vocab())
        qembed::fuzz::invariant_failed("encode produced an id outside the vocab");
      (void)tokenizer.token_bytes(id);
    }
  } catch (const qembed::Error&) {
    // rejecting bad input with Error is the expected outcome
  }
  return 0;
}
