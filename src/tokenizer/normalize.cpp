#include "tokenizer/normalize.hpp"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <cstdint>
#include <vector>

#include "common/error.hpp"

namespace qembed {

namespace {

// Every code point below U+0300 is NFC-stable and none of them combines with a neighbour, so text whose bytes
// are all below 0xCC (the lead byte of U+0300) is already NFC. That covers ASCII and Latin-1 text without an ICU
// call.
bool trivially_nfc(std::string_view text) {
  for (const char c : text) {
    if (static_cast<uint8_t>(c) >= 0xCC) return false;
  }
  return true;
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) throw Error(std::string("NFC normalization failed in ") + what + ": " + u_errorName(status));
}

}  // namespace

bool nfc_normalize(std::string_view text, std::string& out) {
  if (trivially_nfc(text)) return false;
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
  check(status, "unorm2_getNFCInstance");

  // ICU normalizes UTF-16; UTF-8 text never needs more UTF-16 units than it has bytes.
  std::vector<UChar> utf16(text.size() + 1);
  int32_t n_utf16 = 0;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &n_utf16, text.data(),
                static_cast<int32_t>(text.size()), &status);
  check(status, "u_strFromUTF8");
  if (unorm2_isNormalized(nfc, utf16.data(), n_utf16, &status) && U_SUCCESS(status)) return false;
  check(status, "unorm2_isNormalized");

  // NFC can lengthen text (composition exclusions decompose and stay decomposed), so ask ICU for the size.
  status = U_ZERO_ERROR;
  int32_t n_norm = unorm2_normalize(nfc, utf16.data(), n_utf16, nullptr, 0, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "unorm2_normalize (size)");
  std::vector<UChar> norm(static_cast<size_t>(n_norm) + 1);
  status = U_ZERO_ERROR;
  n_norm = unorm2_normalize(nfc, utf16.data(), n_utf16, norm.data(), static_cast<int32_t>(norm.size()), &status);
  check(status, "unorm2_normalize");

  int32_t n_utf8 = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &n_utf8, norm.data(), n_norm, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "u_strToUTF8 (size)");
  out.assign(static_cast<size_t>(n_utf8), '\0');
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), n_utf8, &n_utf8, norm.data(), n_norm, &status);
  // The buffer has no room for a terminator, which ICU reports as a warning, not a failure.
  check(status, "u_strToUTF8");
  return true;
}

}  // namespace qembed
