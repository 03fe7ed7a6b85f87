// vocab_from_gguf on a GGUF written with the Qwen3 vocabulary the way llama.cpp's converter stores it: the
// tokenizer it builds must encode exactly like the one from tokenizer.json.
#include "tokenizer/vocab_gguf.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "formats/gguf_writer.hpp"
#include "tokenizer_test_util.hpp"

namespace qembed {
namespace {

using test::qwen3_tokenizer;
using test::qwen3_vocab;
using test::TokTempDir;

// Writes the tokenizer keys of `v`; `skip` leaves one key out to test the error.
void write_vocab_gguf(const VocabData& v, const std::string& path, const std::string& skip = "") {
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  if (skip != "tokenizer.ggml.model") w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  if (skip != "tokenizer.ggml.tokens") w.set_string_array("tokenizer.ggml.tokens", v.tokens);
  std::vector<int32_t> types;
  for (const TokenType t : v.token_types) types.push_back(static_cast<int32_t>(t));
  if (skip != "tokenizer.ggml.token_type") w.set_i32_array("tokenizer.ggml.token_type", types);
  std::vector<std::string> merges;
  for (const auto& [a, b] : v.merges) merges.push_back(a + " " + b);
  if (skip != "tokenizer.ggml.merges") w.set_string_array("tokenizer.ggml.merges", merges);
  if (skip != "tokenizer.ggml.eos_token_id") w.set_u32("tokenizer.ggml.eos_token_id", v.eos_id);
  w.write(path);
}

TEST(VocabGguf, SameEncodingAsTokenizerJson) {
  TokTempDir dir;
  write_vocab_gguf(qwen3_vocab(), dir.file("vocab.gguf"));
  const auto file = GgufFile::open(dir.file("vocab.gguf"));
  const VocabData v = vocab_from_gguf(*file);
  EXPECT_EQ(v.tokens, qwen3_vocab().tokens);
  EXPECT_EQ(v.token_types, qwen3_vocab().token_types);
  EXPECT_EQ(v.merges, qwen3_vocab().merges);
  EXPECT_EQ(v.eos_id, 151643);

  const Tokenizer from_gguf(v);
  for (const char* text : {"Hello world", "DON'T PANIC, I'M sure WE'LL be fine.", "我们使用向量嵌入。",
                           "<|im_start|>user\nHi<|im_end|>", "<think>x</think>", "Cafe\u0301 \u00A0 \r\n 12345",
                           "def f(x):\n    return x\n", "👨‍👩‍👧 🇺🇸"}) {
    EXPECT_EQ(from_gguf.encode(text), qwen3_tokenizer().encode(text)) << text;
  }
}

TEST(VocabGguf, MissingKeysAreNamed) {
  TokTempDir dir;
  for (const std::string key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id"}) {
    const std::string path = dir.file("missing.gguf");
    write_vocab_gguf(qwen3_vocab(), path, key);
    const auto file = GgufFile::open(path);
    try {
      vocab_from_gguf(*file);
      ADD_FAILURE() << "no error without " << key;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(VocabGguf, WrongTokenizerModelIsRejected) {
  TokTempDir dir;
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  w.write(dir.file("spm.gguf"));
  const auto file = GgufFile::open(dir.file("spm.gguf"));
  EXPECT_THROW(vocab_from_gguf(*file), Error);
}

}  // namespace
}  // namespace qembed
