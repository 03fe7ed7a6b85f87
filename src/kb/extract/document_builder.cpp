#include "kb/extract/document_builder.hpp"

#include <algorithm>

#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Trims a sanitized block. Code keeps the indentation of its first line: only blank lines go at its start.
std::string_view trim_block(std::string_view s, BlockKind kind) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  if (kind == BlockKind::kCode) {
    size_t first_line = 0;
    for (size_t i = 0; i < s.size() && is_space(s[i]); ++i) {
      if (s[i] == '\n') first_line = i + 1;
    }
    return s.substr(first_line);
  }
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

}  // namespace

std::string display_name(std::string_view file_name) {
  if (file_name.empty()) return "(unnamed)";
  std::string name = sanitize_text(file_name.substr(0, 512));
  for (char& c : name) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return name;
}

std::string format_bytes(int64_t n_bytes) {
  if (n_bytes > 0 && n_bytes % (int64_t{1} << 20) == 0) return std::to_string(n_bytes >> 20) + " MiB";
  if (n_bytes > 0 && n_bytes % 1024 == 0) return std::to_string(n_bytes >> 10) + " KiB";
  return std::to_string(n_bytes) + " bytes";
}

Error file_error(std::string_view file_name, std::string_view what) {
  return Error(display_name(file_name) + ": " + std::string(what));
}

Error file_limit_error(std::string_view file_name, std::string_view what) {
  return LimitError(display_name(file_name) + ": " + std::string(what));
}

DocumentBuilder::DocumentBuilder(std::string_view file_name, std::string_view format, int64_t max_text_bytes)
    : name_(file_name), max_text_bytes_(max_text_bytes) {
  doc_.format = std::string(format);
}

void DocumentBuilder::add_block(BlockKind kind, int level, int page, std::string_view text) {
  const std::string clean = sanitize_text(text);
  const std::string_view body = trim_block(clean, kind);
  if (body.empty()) return;
  const size_t separator = doc_.text.empty() ? 0 : 2;
  if (int64_t(doc_.text.size() + separator + body.size()) > max_text_bytes_) {
    throw file_limit_error(name_, "extracted text exceeds " + format_bytes(max_text_bytes_));
  }
  if (separator != 0) doc_.text += "\n\n";
  TextBlock block;
  block.kind = kind;
  block.level = kind == BlockKind::kHeading    ? std::clamp(level, 1, 6)
                : kind == BlockKind::kListItem ? std::max(level, 1)
                                               : 0;
  block.page = page;
  block.start = doc_.text.size();
  doc_.text += body;
  block.end = doc_.text.size();
  doc_.blocks.push_back(block);
}

void DocumentBuilder::set_title(std::string_view title) {
  doc_.title = collapse_whitespace(sanitize_text(title.substr(0, 64 * 1024)));
}

ExtractedDocument DocumentBuilder::finish(int pages, std::string_view no_text_message) {
  if (doc_.blocks.empty()) throw file_error(name_, no_text_message);
  if (doc_.title.empty()) {
    for (const TextBlock& b : doc_.blocks) {
      if (b.kind == BlockKind::kHeading) {
        doc_.title = collapse_whitespace(std::string_view(doc_.text).substr(b.start, b.end - b.start));
        break;
      }
    }
  }
  doc_.pages = pages;
  return std::move(doc_);
}

void InlineText::add(std::string_view s) {
  for (char c : s) {
    if (is_space(c)) {
      if (!text_.empty() && text_.back() != ' ' && text_.back() != '\n') text_ += ' ';
    } else {
      text_ += c;
    }
  }
}

void InlineText::add_verbatim(std::string_view s) { text_ += s; }

void InlineText::line_break() {
  while (!text_.empty() && text_.back() == ' ') text_.pop_back();
  text_ += '\n';
}

void InlineText::space() {
  if (!text_.empty() && !is_space(text_.back())) text_ += ' ';
}

std::string InlineText::take() {
  std::string out = std::move(text_);
  text_.clear();
  return out;
}

std::string collapse_whitespace(std::string_view s) {
  InlineText t;
  t.add(s);
  std::string out = t.take();
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace qembed::kb
