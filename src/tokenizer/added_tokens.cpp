#include "tokenizer/added_tokens.hpp"

#include <algorithm>

namespace qembed {

AddedTokenMatcher::AddedTokenMatcher(std::vector<Token> tokens) {
  for (Token& t : tokens) {
    if (t.text.empty()) continue;  // an empty token would match everywhere; HF ignores it too
    const auto first = static_cast<uint8_t>(t.text[0]);
    is_first_byte_[first] = true;
    by_first_byte_[first].push_back(std::move(t));
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const Token& a, const Token& b) { return a.text.size() > b.text.size(); });
  }
}

AddedTokenMatcher::Match AddedTokenMatcher::find(std::string_view text, size_t from) const {
  for (size_t i = from; i < text.size(); ++i) {
    const auto first = static_cast<uint8_t>(text[i]);
    if (!is_first_byte_[first]) continue;
    // A token's first byte is a UTF-8 lead byte, so a byte-level match always starts on a code point boundary.
    for (const Token& t : by_first_byte_[first]) {
      if (text.compare(i, t.text.size(), t.text) == 0) return Match{i, t.text.size(), t.id};
    }
  }
  return Match{};
}

}  // namespace qembed
