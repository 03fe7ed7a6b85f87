#include "server/api/kb_names.hpp"

#include <cstdint>

namespace qembed::server::api {

namespace {

//! Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlongs, surrogates, > U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool is_space(std::string_view s) { return s == " " || s == "\t"; }

}  // namespace

std::string document_name_from_file_name(std::string_view file_name) {
  const size_t slash = file_name.find_last_of("/\\");
  const std::string_view last = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  std::string out;
  for (size_t i = 0; i < last.size();) {
    const size_t n = utf8_sequence_length(last, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    const std::string_view seq = last.substr(i, n);
    i += n;
    const unsigned char c0 = static_cast<unsigned char>(seq[0]);
    const bool c0_control = n == 1 && (c0 < 0x20 || c0 == 0x7F);
    const bool c1_control = n == 2 && c0 == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0;  // U+0080..U+009F
    if (c0_control || c1_control) continue;
    out += seq;
  }
  // Trimmed of spaces at both ends (a name of only spaces is no name).
  while (!out.empty() && is_space(std::string_view(out).substr(0, 1))) out.erase(0, 1);
  while (!out.empty() && is_space(std::string_view(out).substr(out.size() - 1))) out.pop_back();
  if (out == "." || out == "..") return "";
  if (out.size() > kMaxDocumentNameBytes) {
    size_t cut = kMaxDocumentNameBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a sequence
    out.resize(cut);
  }
  return out;
}

}  // namespace qembed::server::api
