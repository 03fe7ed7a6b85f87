#pragma once
// GPT-2's byte-to-unicode table: byte-level BPE vocabularies spell every byte as a printable code point so that
// token strings never contain spaces or control characters ("Ġthe" is the bytes " the").
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qembed::byte_level {

//! The code point that stands for `byte` in vocabulary strings.
char32_t byte_to_char(uint8_t byte);

//! UTF-8 of byte_to_char(byte), for building token strings.
const std::string& byte_to_utf8(uint8_t byte);

//! The raw bytes a vocabulary string stands for; nullopt when it contains a code point outside the table.
std::optional<std::string> decode_token(std::string_view token);

}  // namespace qembed::byte_level
