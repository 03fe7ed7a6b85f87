#pragma once
// Finds added tokens (<|endoftext|>, <think>, ...) in raw text. They are matched before normalization and before
// the pre-tokenizer, leftmost-longest, like HF tokenizers' added-vocabulary splitter.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qembed {

class AddedTokenMatcher {
 public:
  struct Token {
    std::string text;
    int32_t id;
  };
  explicit AddedTokenMatcher(std::vector<Token> tokens);

  struct Match {
    size_t begin = 0;   //!< byte offset in the searched text
    size_t length = 0;  //!< 0 = no match
    int32_t id = -1;
  };
  //! The leftmost match at or after `from`, the longest among those starting there.
  Match find(std::string_view text, size_t from) const;

 private:
  // Tokens bucketed by first byte, longest first, so a scan touches only bytes that can start a token.
  std::array<std::vector<Token>, 256> by_first_byte_;
  std::array<bool, 256> is_first_byte_{};
};

}  // namespace qembed
