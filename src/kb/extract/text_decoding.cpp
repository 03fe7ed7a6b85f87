#include "kb/extract/text_decoding.hpp"

#include <array>

namespace qembed::kb {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Control characters a text file may contain: tab, LF, VT, FF, CR, ESC (terminal colours in logs).
bool is_allowed_control(uint8_t c) { return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 27; }
bool is_c0_control(char32_t c) { return c < 0x20 || c == 0x7F; }

// Appends a decoded code point, applying sanitize_text's rules (newlines, dropped controls). `pending_cr` turns
// "\r\n" into one "\n".
void append_sanitized(std::string& out, char32_t cp, bool* pending_cr) {
  if (cp == '\n' && *pending_cr) {
    *pending_cr = false;
    return;
  }
  *pending_cr = cp == '\r';
  if (cp == '\r' || cp == '\n') {
    out += '\n';
  } else if (cp == '\t') {
    out += '\t';
  } else if (is_c0_control(cp) || (cp >= 0x80 && cp < 0xA0)) {
    return;  // NUL, other C0 and C1 controls: no meaning in text
  } else {
    append_utf8(out, cp);
  }
}

// Windows-1252's 0x80..0x9F; 0 marks the five unassigned bytes.
constexpr std::array<char16_t, 32> kCp1252High = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                                  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                                  0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                                  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

std::string utf16_to_utf8(std::span<const uint8_t> bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 2);
  bool pending_cr = false;
  const size_t n_units = bytes.size() / 2;
  auto unit = [&](size_t i) -> char32_t {
    const uint8_t a = bytes[2 * i], b = bytes[2 * i + 1];
    return little_endian ? char32_t(a | (b << 8)) : char32_t((a << 8) | b);
  };
  for (size_t i = 0; i < n_units; ++i) {
    char32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n_units && unit(i + 1) >= 0xDC00 && unit(i + 1) <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (unit(i + 1) - 0xDC00);
      ++i;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = kReplacement;
    }
    append_sanitized(out, cp, &pending_cr);
  }
  if (bytes.size() % 2 != 0) append_utf8(out, kReplacement);
  return out;
}

// The NUL and control-character check shared by every encoding; offsets are byte offsets in the file.
bool is_binary_code_unit(char32_t c) { return c < 0x20 && !is_allowed_control(uint8_t(c)); }

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = kReplacement;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

size_t decode_utf8(const uint8_t* p, size_t n, char32_t* cp) {
  if (n == 0) return 0;
  const uint8_t b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  char32_t value, min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    value = (value << 6) | (p[i] & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t len = decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string sanitize_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_cr = false;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t len = decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) cp = kReplacement, len = 1;
    append_sanitized(out, cp, &pending_cr);
    i += len;
  }
  return out;
}

std::string windows_1252_to_utf8(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (uint8_t b : bytes) {
    if (b < 0x80) {
      out += char(b);
    } else if (b < 0xA0) {
      const char16_t cp = kCp1252High[b - 0x80];
      append_utf8(out, cp != 0 ? cp : kReplacement);
    } else {
      append_utf8(out, b);
    }
  }
  return out;
}

std::string decode_text(std::span<const uint8_t> bytes, TextDecodeFailure* failure, bool legacy_8bit) {
  failure->what.clear();
  auto starts_with = [&](std::initializer_list<uint8_t> bom) {
    return bytes.size() >= bom.size() && std::equal(bom.begin(), bom.end(), bytes.begin());
  };
  size_t bom_bytes = 0;
  enum { kUtf8, kUtf16Le, kUtf16Be } encoding = kUtf8;
  if (starts_with({0xEF, 0xBB, 0xBF})) {
    bom_bytes = 3;
    legacy_8bit = false;
  } else if (starts_with({0xFF, 0xFE})) {
    bom_bytes = 2, encoding = kUtf16Le;
  } else if (starts_with({0xFE, 0xFF})) {
    bom_bytes = 2, encoding = kUtf16Be;
  }
  const std::span<const uint8_t> body = bytes.subspan(bom_bytes);

  // Binary check, per code unit of the encoding; the offset reported is the file's byte offset.
  const size_t unit = encoding == kUtf8 ? 1 : 2;
  size_t n_controls = 0, first_control = SIZE_MAX;
  for (size_t i = 0; i + unit <= body.size(); i += unit) {
    const char32_t c = unit == 1              ? body[i]
                       : encoding == kUtf16Le ? char32_t(body[i] | (body[i + 1] << 8))
                                              : char32_t((body[i] << 8) | body[i + 1]);
    if (!is_binary_code_unit(c)) continue;
    if (c == 0) {
      failure->what = "not text (binary data at byte " + std::to_string(bom_bytes + i) + ")";
      return {};
    }
    if (n_controls++ == 0) first_control = i;
  }
  if (n_controls * 100 > body.size()) {
    failure->what = "not text (binary data at byte " + std::to_string(bom_bytes + first_control) + ")";
    return {};
  }
  if (encoding != kUtf8) return utf16_to_utf8(body, encoding == kUtf16Le);
  if (legacy_8bit) return sanitize_text(windows_1252_to_utf8(body));

  size_t n_invalid = 0, first_invalid = SIZE_MAX, n_multibyte = 0;
  for (size_t i = 0; i < body.size();) {
    char32_t cp;
    const size_t len = decode_utf8(body.data() + i, body.size() - i, &cp);
    if (len == 0) {
      if (n_invalid++ == 0) first_invalid = i;
      ++i;
    } else {
      n_multibyte += len > 1;
      i += len;
    }
  }
  if (n_invalid == 0) {
    return sanitize_text(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
  }
  if (n_multibyte == 0) return sanitize_text(windows_1252_to_utf8(body));
  if (n_invalid * 100 > body.size()) {
    failure->what = "not UTF-8 text (invalid UTF-8 at byte " + std::to_string(bom_bytes + first_invalid) + ")";
    return {};
  }
  return sanitize_text(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
}

}  // namespace qembed::kb
