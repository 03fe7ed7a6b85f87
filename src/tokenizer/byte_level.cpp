#include "tokenizer/byte_level.hpp"

#include <unordered_map>

#include "tokenizer/utf8.hpp"

namespace qembed::byte_level {

namespace {

struct Tables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<std::string, 256> byte_to_utf8;
  std::unordered_map<char32_t, uint8_t> char_to_byte;

  Tables() {
    // Printable Latin-1 bytes keep their own code point; the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD)
    // are numbered upwards from U+0100 in byte order.
    char32_t next_free = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      byte_to_char[b] = printable ? static_cast<char32_t>(b) : next_free++;
      utf8::append(byte_to_utf8[b], byte_to_char[b]);
      char_to_byte[byte_to_char[b]] = static_cast<uint8_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().byte_to_char[byte]; }

const std::string& byte_to_utf8(uint8_t byte) { return tables().byte_to_utf8[byte]; }

std::optional<std::string> decode_token(std::string_view token) {
  const Tables& t = tables();
  std::string bytes;
  size_t pos = 0;
  while (pos < token.size()) {
    const auto it = t.char_to_byte.find(utf8::decode(token, pos));
    if (it == t.char_to_byte.end()) return std::nullopt;
    bytes.push_back(static_cast<char>(it->second));
  }
  return bytes;
}

}  // namespace qembed::byte_level
