#include "tokenizer/pretokenize.hpp"

#include <unicode/uchar.h>

#include <array>
#include <cstdint>

#include "tokenizer/utf8.hpp"

namespace qembed {

namespace {

// The four classes the regex distinguishes. Newline is a subset of space (\r and \n are White_Space).
enum class CharClass : uint8_t { Letter, Number, Space, Newline, Other };

bool is_white_space(char32_t c) {
  // Unicode White_Space, which is what Oniguruma's \s means and what the JS port rewrites \s to. It has not
  // changed since Unicode 6.3; hard-coding it avoids depending on the ICU version.
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

CharClass classify_slow(char32_t c) {
  if (c == '\r' || c == '\n') return CharClass::Newline;
  if (is_white_space(c)) return CharClass::Space;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return CharClass::Letter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return CharClass::Number;
    default:
      return CharClass::Other;
  }
}

// Latin-1 is looked up in a table; the rest asks ICU (a compact trie lookup).
const std::array<CharClass, 256> kLatin1Class = [] {
  std::array<CharClass, 256> table{};
  for (char32_t c = 0; c < 256; ++c) table[c] = classify_slow(c);
  return table;
}();

inline CharClass classify(char32_t c) { return c < 256 ? kLatin1Class[c] : classify_slow(c); }

// A cursor over valid UTF-8 that decodes one code point ahead.
struct Scanner {
  std::string_view text;

  bool at_end(size_t pos) const { return pos >= text.size(); }
  CharClass class_at(size_t pos, size_t& next) const {
    next = pos;
    return classify(utf8::decode(text, next));
  }
  // End of the run of code points starting at `pos` whose class satisfies `keep`.
  template <typename Pred>
  size_t run_end(size_t pos, Pred keep) const {
    while (!at_end(pos)) {
      size_t next;
      if (!keep(class_at(pos, next))) break;
      pos = next;
    }
    return pos;
  }
};

bool is_space(CharClass c) { return c == CharClass::Space || c == CharClass::Newline; }

// (?i:'s|'t|'re|'ve|'m|'ll|'d) at `pos` (text[pos] == '\''). Returns the match end or 0.
size_t match_contraction(std::string_view text, size_t pos) {
  const auto lower = [&](size_t k) -> char {
    if (pos + k >= text.size()) return '\0';
    const char c = text[pos + k];
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  };
  switch (lower(1)) {
    case 's':
    case 't':
    case 'm':
    case 'd':
      return pos + 2;
    case 'r':
    case 'v':
      return lower(2) == 'e' ? pos + 3 : 0;
    case 'l':
      return lower(2) == 'l' ? pos + 3 : 0;
    default:
      return 0;
  }
}

// Byte offset where the match of the whole pattern starting at `pos` ends (always > pos: every code point starts
// some alternative, so the pieces cover the text with no gaps).
size_t match_at(const Scanner& s, size_t pos) {
  const std::string_view text = s.text;
  if (text[pos] == '\'') {
    if (const size_t end = match_contraction(text, pos)) return end;
  }
  size_t after_first;
  const CharClass first = s.class_at(pos, after_first);
  const auto letters = [](CharClass c) { return c == CharClass::Letter; };
  const auto others = [](CharClass c) { return c == CharClass::Other; };
  const auto newlines = [](CharClass c) { return c == CharClass::Newline; };

  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (first == CharClass::Letter) return s.run_end(after_first, letters);
  size_t after_second = after_first;
  const CharClass second = s.at_end(after_first) ? CharClass::Other : s.class_at(after_first, after_second);
  const bool has_second = !s.at_end(after_first);
  if (first != CharClass::Newline && first != CharClass::Number && has_second && second == CharClass::Letter) {
    return s.run_end(after_second, letters);
  }
  // \p{N}: digits one at a time.
  if (first == CharClass::Number) return after_first;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  if (first == CharClass::Other) return s.run_end(s.run_end(after_first, others), newlines);
  if (text[pos] == ' ' && has_second && second == CharClass::Other) {
    return s.run_end(s.run_end(after_second, others), newlines);
  }
  // Only white space is left. \s*[\r\n]+ : the backtracking engine ends the match just after the last newline
  // of the white-space run.
  const size_t space_end = s.run_end(pos, is_space);
  size_t last_newline_end = 0;
  for (size_t p = pos; p < space_end;) {
    size_t next;
    if (s.class_at(p, next) == CharClass::Newline) last_newline_end = next;
    p = next;
  }
  if (last_newline_end != 0) return last_newline_end;
  // \s+(?!\S) : the whole run at the end of text, otherwise the run minus its last code point, which is then
  // left to prefix the next word (" world").
  if (s.at_end(space_end)) return space_end;
  const size_t shortened = utf8::previous_start(text, space_end);
  if (shortened > pos) return shortened;
  // \s+
  return space_end;
}

}  // namespace

void pretokenize_qwen2(std::string_view text, std::vector<std::string_view>& pieces) {
  const Scanner s{text};
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = match_at(s, pos);
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
}

}  // namespace qembed
