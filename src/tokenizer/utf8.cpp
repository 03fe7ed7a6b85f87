#include "tokenizer/utf8.hpp"

#include <cstdio>

#include "common/error.hpp"

namespace qembed::utf8 {

namespace {

[[noreturn]] void fail(std::string_view what, size_t offset, uint8_t byte) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", byte);
  throw Error("text is not valid UTF-8: " + std::string(what) + " (byte " + hex + ") at byte offset " +
              std::to_string(offset));
}

}  // namespace

void validate(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII dominates most input: skip it eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      __builtin_memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const uint8_t b0 = p[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    char32_t min_cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, min_cp = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, min_cp = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, min_cp = 0x10000;
    } else {
      fail(b0 >= 0x80 && b0 <= 0xBF ? "unexpected continuation byte" : "invalid lead byte", i, b0);
    }
    char32_t cp = b0 & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n) fail("multi-byte sequence cut off by the end of the text", i, b0);
      const uint8_t b = p[i + k];
      if ((b & 0xC0) != 0x80) fail("multi-byte sequence missing a continuation byte", i, b0);
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min_cp) fail("overlong encoding", i, b0);
    if (cp >= 0xD800 && cp <= 0xDFFF) fail("encoded UTF-16 surrogate", i, b0);
    if (cp > 0x10FFFF) fail("code point above U+10FFFF", i, b0);
    i += len;
  }
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace qembed::utf8
