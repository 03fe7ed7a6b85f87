#pragma once
// Qwen2/Qwen3 byte-level BPE: NFC, added-token matching, the Qwen2 pre-tokenizer regex, byte-to-unicode mapping,
// rank-ordered merges. Produces exactly the ids HF tokenizers produces for tokenizer.json.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace qembed {

class Tokenizer {
 public:
  //! Builds lookup tables from the vocab; throws Error when it is inconsistent (merge of unknown token, ...).
  explicit Tokenizer(VocabData vocab);
  ~Tokenizer();

  //! Token ids of `text` without any added EOS. Throws Error when the text is not valid UTF-8 (message names the
  //! byte offset). Thread-safe.
  std::vector<int32_t> encode(std::string_view text) const;

  int32_t eos_id() const;
  int32_t n_vocab() const;
  //! The raw bytes a token stands for ("Ġthe" -> " the"); added tokens give their text.
  std::string token_bytes(int32_t id) const;
  bool is_added_token(int32_t id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qembed
