#pragma once
// UTF-8 validation and decoding. Text from users is validated once, up front, so every later stage can decode
// without checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qembed::utf8 {

//! Throws Error naming the byte offset of the first invalid sequence (bad lead byte, truncated sequence, overlong
//! form, surrogate, or code point above U+10FFFF).
void validate(std::string_view text);

//! Decodes the code point starting at byte `pos` of already-validated text; advances `pos` past it.
inline char32_t decode(std::string_view text, size_t& pos) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  const auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(text[pos + k]) & 0x3F); };
  char32_t cp;
  if (b0 < 0xE0) {
    cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
    pos += 2;
  } else if (b0 < 0xF0) {
    cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    pos += 3;
  } else {
    cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    pos += 4;
  }
  return cp;
}

//! Byte offset of the code point that ends just before `pos` in valid UTF-8 (pos > 0).
inline size_t previous_start(std::string_view text, size_t pos) {
  do {
    --pos;
  } while (pos > 0 && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80);
  return pos;
}

//! Appends the UTF-8 form of a valid code point.
void append(std::string& out, char32_t cp);

}  // namespace qembed::utf8
