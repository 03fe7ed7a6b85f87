#include "server/http/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

namespace qembed::server {

namespace {

// Spaces and tabs a sender may put after a delimiter ("transport padding", RFC 2046 5.1.1); bounded so a client
// cannot make the parser wait on padding forever.
constexpr size_t kMaxTransportPadding = 64;

bool is_lwsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_lwsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_lwsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

//! %XX escapes decoded; a malformed escape is kept as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

//! A header's `type; name=value; name="quoted value"` parameters (names lower-cased). In quoted values a backslash
//! escapes only `"` and `\`: browsers send Windows paths (C:\dir\a.txt) without escaping their backslashes.
struct HeaderParams {
  std::string value;  // the part before the first ';', trimmed
  std::vector<std::pair<std::string, std::string>> params;
  const std::string* find(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

//! Parses `value; a=b; c="d"`; nullopt when a quoted string is not closed.
std::optional<HeaderParams> parse_params(std::string_view s) {
  HeaderParams out;
  size_t i = s.find(';');
  out.value = std::string(trim(s.substr(0, i)));
  while (i != std::string_view::npos && i < s.size()) {
    ++i;  // past ';'
    while (i < s.size() && is_lwsp(s[i])) ++i;
    const size_t name_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ';') ++i;
    std::string name = lower(trim(s.substr(name_start, i - name_start)));
    std::string value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && is_lwsp(s[i])) ++i;
      if (i < s.size() && s[i] == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          const char c = s[i];
          if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            value += s[i + 1];
            i += 2;
            continue;
          }
          ++i;
          if (c == '"') {
            closed = true;
            break;
          }
          value += c;
        }
        if (!closed) return std::nullopt;
        while (i < s.size() && s[i] != ';') ++i;  // anything between the closing quote and ';' is ignored
      } else {
        const size_t v = i;
        while (i < s.size() && s[i] != ';') ++i;
        value = std::string(trim(s.substr(v, i - v)));
      }
    } else {
      i = s.find(';', i);
    }
    if (!name.empty()) out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

//! RFC 5987 `UTF-8''percent-encoded`; nullopt for another charset or a malformed value.
std::optional<std::string> ext_value(std::string_view v) {
  const size_t q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  const size_t q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  if (!iequals(v.substr(0, q1), "utf-8")) return std::nullopt;
  return percent_decode(v.substr(q2 + 1));
}

//! RFC 2046 bchars: the characters a boundary may hold (a space, but not as the last one).
bool is_boundary_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool valid_boundary(std::string_view b) {
  return !b.empty() && b.size() <= 70 && b.back() != ' ' && std::all_of(b.begin(), b.end(), is_boundary_char);
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const std::optional<HeaderParams> p = parse_params(content_type);
  if (!p || !iequals(p->value, "multipart/form-data")) return std::nullopt;
  const std::string* b = p->find("boundary");
  if (!b || !valid_boundary(*b)) return std::nullopt;
  return *b;
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartLimits limits)
    : delimiter_("\r\n--" + std::string(boundary)), limits_(limits) {
  if (!valid_boundary(boundary)) throw std::invalid_argument("invalid multipart boundary");
}

uint64_t MultipartParser::offset_of(size_t i) const {
  // buffer_ ends with the last byte fed; at first it also starts with the two synthetic bytes before the body.
  const int64_t offset =
      static_cast<int64_t>(consumed_) - static_cast<int64_t>(buffer_.size()) + static_cast<int64_t>(i);
  return offset > 0 ? static_cast<uint64_t>(offset) : 0;
}

void MultipartParser::fail(const std::string& what) {
  state_ = State::kFailed;
  buffer_.clear();
  throw MultipartError("malformed multipart/form-data body: " + what);
}

void MultipartParser::feed(std::string_view bytes, PartSink& sink) {
  if (state_ == State::kFailed) throw MultipartError("malformed multipart/form-data body");
  consumed_ += bytes.size();
  if (state_ == State::kEpilogue) return;  // after the closing delimiter: ignored, never buffered
  buffer_.append(bytes.data(), bytes.size());
  try {
    while (step(sink)) {
    }
  } catch (const MultipartError& e) {
    if (state_ != State::kFailed) {
      state_ = State::kFailed;
      buffer_.clear();
    }
    throw;
  } catch (...) {
    state_ = State::kFailed;
    buffer_.clear();
    throw;
  }
}

bool MultipartParser::step(PartSink& sink) {
  const size_t keep = delimiter_.size() - 1;  // a delimiter may begin in the last keep bytes
  switch (state_) {
    case State::kPreamble: {
      const size_t pos = buffer_.find(delimiter_);
      if (pos == std::string::npos) {
        if (consumed_ > 64 * 1024) {
          // A preamble is allowed but never useful; a body without a delimiter in its first 64 KiB is not ours.
          fail("no delimiter --" + delimiter_.substr(4) + " in the first 64 KiB (is the boundary right?)");
        }
        if (buffer_.size() > keep) buffer_.erase(0, buffer_.size() - keep);
        return false;
      }
      buffer_.erase(0, pos + delimiter_.size());
      state_ = State::kAfterDelimiter;
      return true;
    }
    case State::kAfterDelimiter: {
      if (buffer_.size() < 2) return false;
      if (buffer_.compare(0, 2, "--") == 0) {
        state_ = State::kEpilogue;
        buffer_.clear();
        return false;
      }
      size_t i = 0;
      while (i < buffer_.size() && is_lwsp(buffer_[i])) ++i;
      if (i > kMaxTransportPadding)
        fail("more than 64 spaces after a delimiter at byte " + std::to_string(offset_of(0)));
      if (buffer_.size() < i + 2) return false;
      if (buffer_.compare(i, 2, "\r\n") != 0) {
        fail("a delimiter must be followed by CRLF or \"--\" at byte " + std::to_string(offset_of(i)));
      }
      buffer_.erase(0, i + 2);
      if (parts_ >= limits_.max_parts) fail("more than " + std::to_string(limits_.max_parts) + " parts");
      ++parts_;
      state_ = State::kHeaders;
      return true;
    }
    case State::kHeaders: {
      size_t block_end = std::string::npos, body_start = 0;
      if (buffer_.size() >= 2 && buffer_.compare(0, 2, "\r\n") == 0) {
        block_end = 0;  // no header lines at all
        body_start = 2;
      } else if (const size_t p = buffer_.find("\r\n\r\n"); p != std::string::npos) {
        block_end = p;
        body_start = p + 4;
      }
      if (block_end == std::string::npos) {
        if (buffer_.size() > limits_.max_header_bytes) {
          fail("part " + std::to_string(parts_) + "'s header is larger than " +
               std::to_string(limits_.max_header_bytes) + " bytes");
        }
        return false;
      }
      if (body_start > limits_.max_header_bytes) {
        fail("part " + std::to_string(parts_) + "'s header is larger than " + std::to_string(limits_.max_header_bytes) +
             " bytes");
      }
      PartHeader header;
      bool has_disposition = false;
      std::string_view block(buffer_.data(), block_end);
      while (!block.empty()) {
        const size_t eol = block.find("\r\n");
        std::string_view line = block.substr(0, eol);
        block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
          if (trim(line).empty()) continue;
          fail("part " + std::to_string(parts_) + " has a header line without ':'");
        }
        const std::string_view name = trim(line.substr(0, colon));
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-disposition")) {
          const std::optional<HeaderParams> p = parse_params(value);
          if (!p) fail("part " + std::to_string(parts_) + "'s Content-Disposition has an unclosed quoted string");
          if (!iequals(p->value, "form-data")) {
            fail("part " + std::to_string(parts_) + "'s Content-Disposition is \"" + p->value.substr(0, 64) +
                 "\", not form-data");
          }
          has_disposition = true;
          if (const std::string* n = p->find("name")) header.name = *n;
          if (const std::string* f = p->find("filename")) header.filename = *f;
          if (const std::string* f = p->find("filename*")) {
            if (std::optional<std::string> decoded = ext_value(*f)) header.filename = std::move(*decoded);
          }
        } else if (iequals(name, "content-type")) {
          header.content_type = std::string(value);
        }
      }
      if (!has_disposition) fail("part " + std::to_string(parts_) + " has no Content-Disposition: form-data header");
      // The part's body is what follows the header block, up to the next delimiter (whose leading CRLF belongs to
      // the delimiter, so an empty part has the delimiter right here).
      buffer_.erase(0, body_start);
      state_ = State::kBody;
      in_part_ = true;
      sink.part_begin(header);
      return true;
    }
    case State::kBody: {
      const size_t pos = buffer_.find(delimiter_);
      if (pos != std::string::npos) {
        if (pos > 0) sink.part_data(std::string_view(buffer_).substr(0, pos));
        buffer_.erase(0, pos + delimiter_.size());
        in_part_ = false;
        sink.part_end();
        state_ = State::kAfterDelimiter;
        return true;
      }
      if (buffer_.size() > keep) {
        const size_t n = buffer_.size() - keep;
        sink.part_data(std::string_view(buffer_).substr(0, n));
        buffer_.erase(0, n);
      }
      return false;
    }
    case State::kEpilogue:
    case State::kFailed:
      return false;
  }
  return false;
}

void MultipartParser::finish() {
  if (state_ == State::kEpilogue) return;
  if (state_ == State::kFailed) throw MultipartError("malformed multipart/form-data body");
  fail(std::string("the body ended before its closing delimiter --") + delimiter_.substr(4) + "--" +
       (in_part_ ? " (inside part " + std::to_string(parts_) + ")" : ""));
}

}  // namespace qembed::server
