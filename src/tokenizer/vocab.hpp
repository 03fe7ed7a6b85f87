#pragma once
// The vocabulary a byte-level BPE tokenizer needs, in the GGUF convention, whatever file it came from.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qembed {

//! Token types as GGUF stores them (tokenizer.ggml.token_type).
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct VocabData {
  //! Token strings in GPT-2 byte-to-unicode form for normal tokens ("Ġthe"); raw text for added tokens
  //! ("<|endoftext|>"). Index = token id.
  std::vector<std::string> tokens;
  //! One per token. Control and UserDefined tokens are "added tokens": matched as whole tokens in input text.
  std::vector<TokenType> token_types;
  //! Merge rules in rank order, each a pair of token strings ("Ġ", "t").
  std::vector<std::pair<std::string, std::string>> merges;
  int32_t eos_id = -1;  //!< <|endoftext|> for Qwen3
};

//! Reads model.vocab, model.merges (either "a b" strings or ["a","b"] pairs) and added_tokens from a HuggingFace
//! tokenizer.json. Throws Error naming the file and the field.
VocabData vocab_from_tokenizer_json(const std::string& path);

}  // namespace qembed
