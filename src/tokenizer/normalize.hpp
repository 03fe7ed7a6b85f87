#pragma once
// Unicode NFC, the normalizer Qwen3's tokenizer.json names. Applied to the text between added tokens.
#include <string>
#include <string_view>

namespace qembed {

//! NFC form of valid UTF-8 `text`. Returns false and leaves `out` untouched when the text is already NFC (the
//! common case), so callers can keep using the original bytes without a copy.
bool nfc_normalize(std::string_view text, std::string& out);

}  // namespace qembed
