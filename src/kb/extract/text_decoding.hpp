#pragma once
// Bytes to UTF-8 for the text formats (plain text, Markdown, HTML), and the sanitizer every extractor's output
// goes through so the document's text is always valid UTF-8 without NUL or control characters.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace qembed::kb {

//! Appends the UTF-8 encoding of `cp` (U+FFFD for a surrogate or a value past U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

//! Length (1..4) of the valid UTF-8 sequence at p[0..n), or 0 when it is invalid (overlong, surrogate, past
//! U+10FFFF, truncated, a stray continuation byte). Stores the code point in *cp when valid.
size_t decode_utf8(const uint8_t* p, size_t n, char32_t* cp);

//! True when every byte sequence of `s` is valid UTF-8.
bool is_valid_utf8(std::string_view s);

//! Valid UTF-8 for a block: each invalid byte becomes U+FFFD, "\r\n" and "\r" become "\n", and NUL and the other
//! C0/C1 control characters except "\t" and "\n" are dropped.
std::string sanitize_text(std::string_view s);

//! Windows-1252 (a superset of Latin-1's printable range) to UTF-8; its five unassigned bytes map to U+FFFD.
std::string windows_1252_to_utf8(std::span<const uint8_t> bytes);

//! Why bytes are not text, when they are not.
struct TextDecodeFailure {
  std::string what;  //!< e.g. "not text (binary data at byte 1234)"
  bool failed() const { return !what.empty(); }
};

//! Decodes a text file. The rule:
//!  - a BOM picks UTF-8 (stripped), UTF-16 LE or UTF-16 BE (converted; an unpaired surrogate or a trailing odd
//!    byte becomes U+FFFD);
//!  - NUL anywhere, or control characters (other than tab, newlines, form feed, escape) in more than 1% of the
//!    bytes: binary, a failure naming the first such byte;
//!  - without a BOM, valid UTF-8 is UTF-8. Invalid UTF-8 in a file with no valid multi-byte sequence is read as
//!    Windows-1252 (a Latin-1 file, "café" saved by an old editor); otherwise up to 1% invalid bytes become
//!    U+FFFD and more is a failure naming the first invalid byte.
//! `legacy_8bit` (an HTML meta charset of Latin-1/Windows-1252) reads the bytes as Windows-1252 unless a BOM says
//! otherwise. Returns the text with "\r\n"/"\r" turned into "\n" and control characters dropped.
std::string decode_text(std::span<const uint8_t> bytes, TextDecodeFailure* failure, bool legacy_8bit = false);

}  // namespace qembed::kb
