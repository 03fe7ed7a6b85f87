// The dispatcher: format detection, the checks every format shares, the document's invariants.
#include "kb/extract/extract.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"
#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

struct ExtensionFormat {
  std::string_view extension;
  std::string_view format;
};

// Extensions read as plain text besides .txt: notes, data and source files people put in a knowledge base.
constexpr std::array<ExtensionFormat, 52> kExtensions = {{
    {"pdf", kFormatPdf},           {"docx", kFormatDocx},      {"docm", kFormatDocx},    {"html", kFormatHtml},
    {"htm", kFormatHtml},          {"xhtml", kFormatHtml},     {"shtml", kFormatHtml},   {"md", kFormatMarkdown},
    {"markdown", kFormatMarkdown}, {"mdown", kFormatMarkdown}, {"mkd", kFormatMarkdown}, {"mkdn", kFormatMarkdown},
    {"txt", kFormatText},          {"text", kFormatText},      {"log", kFormatText},     {"csv", kFormatText},
    {"tsv", kFormatText},          {"rst", kFormatText},       {"adoc", kFormatText},    {"org", kFormatText},
    {"tex", kFormatText},          {"json", kFormatText},      {"jsonl", kFormatText},   {"yaml", kFormatText},
    {"yml", kFormatText},          {"toml", kFormatText},      {"ini", kFormatText},     {"cfg", kFormatText},
    {"conf", kFormatText},         {"xml", kFormatText},       {"c", kFormatText},       {"h", kFormatText},
    {"cc", kFormatText},           {"cpp", kFormatText},       {"hpp", kFormatText},     {"py", kFormatText},
    {"js", kFormatText},           {"ts", kFormatText},        {"go", kFormatText},      {"rs", kFormatText},
    {"java", kFormatText},         {"kt", kFormatText},        {"rb", kFormatText},      {"php", kFormatText},
    {"sh", kFormatText},           {"sql", kFormatText},       {"css", kFormatText},     {"swift", kFormatText},
    {"cs", kFormatText},           {"scala", kFormatText},     {"lua", kFormatText},     {"r", kFormatText},
}};

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

// The extension of the name's last path component, lower-cased ("" when none).
std::string extension_of(std::string_view file_name) {
  const size_t slash = file_name.find_last_of("/\\");
  const std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  return lower_ascii(base.substr(dot + 1));
}

bool looks_like_html(std::span<const uint8_t> bytes) {
  std::string_view s(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 1024));
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  const std::string head = lower_ascii(s.substr(0, 14));
  return head.starts_with("<!doctype html") || head.starts_with("<html");
}

bool has_pdf_header(std::span<const uint8_t> bytes) {
  // PDF readers accept junk before the header within the first KiB; so does poppler.
  const std::string_view s(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 1024));
  return s.find("%PDF-") != std::string_view::npos;
}

}  // namespace

std::string detect_format(std::span<const uint8_t> bytes, std::string_view file_name) {
  const std::string ext = extension_of(file_name);
  for (const ExtensionFormat& e : kExtensions) {
    if (e.extension == ext) return std::string(e.format);
  }
  if (has_pdf_header(bytes)) return std::string(kFormatPdf);
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) {
    if (is_docx_archive(bytes)) return std::string(kFormatDocx);
    throw file_error(file_name, "unsupported format: a zip archive that is not a DOCX (no word/document.xml)");
  }
  if (looks_like_html(bytes)) return std::string(kFormatHtml);
  if (bytes.empty()) return std::string(kFormatText);
  TextDecodeFailure failure;
  (void)decode_text(bytes.subspan(0, std::min<size_t>(bytes.size(), 64 * 1024)), &failure);
  if (failure.failed()) {
    throw file_error(file_name,
                     "unsupported format: not a PDF, DOCX, HTML, Markdown or text file (" + failure.what + ")");
  }
  return std::string(kFormatText);
}

namespace {

// What every format checks before its extractor runs.
void check_input(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits) {
  if (bytes.empty()) throw file_error(file_name, "the file is empty");
  if (int64_t(bytes.size()) > limits.max_input_bytes) {
    throw file_limit_error(file_name, "the file is " + std::to_string(bytes.size()) + " bytes, above the limit of " +
                                          format_bytes(limits.max_input_bytes));
  }
}

}  // namespace

ExtractedDocument extract_document_as(std::string_view format, std::span<const uint8_t> bytes,
                                      std::string_view file_name, const ExtractLimits& limits) {
  check_input(bytes, file_name, limits);
  if (format == kFormatPdf) return extract_pdf(bytes, file_name, limits);
  if (format == kFormatDocx) return extract_docx(bytes, file_name, limits);
  if (format == kFormatHtml) return extract_html(bytes, file_name, limits);
  if (format == kFormatMarkdown) return extract_markdown(bytes, file_name, limits);
  if (format == kFormatText) return extract_text(bytes, file_name, limits);
  throw file_error(file_name, "unknown format \"" + display_name(format) + "\"");
}

ExtractedDocument extract_document(std::span<const uint8_t> bytes, std::string_view file_name,
                                   const ExtractLimits& limits) {
  check_input(bytes, file_name, limits);
  return extract_document_as(detect_format(bytes, file_name), bytes, file_name, limits);
}

std::string check_document(const ExtractedDocument& doc) {
  const std::string& t = doc.text;
  if (!is_valid_utf8(t)) return "text is not valid UTF-8";
  if (t.find('\0') != std::string::npos) return "text contains NUL";
  if (!is_valid_utf8(doc.title) || doc.title.find('\0') != std::string::npos) return "title is not clean UTF-8";
  size_t expected_start = 0;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const TextBlock& b = doc.blocks[i];
    const std::string at = "block " + std::to_string(i) + ": ";
    if (i > 0) {
      if (t.compare(expected_start, 2, "\n\n") != 0) return at + "not preceded by \"\\n\\n\"";
      expected_start += 2;
    }
    if (b.start != expected_start)
      return at + "starts at " + std::to_string(b.start) + ", not " + std::to_string(expected_start);
    if (b.end <= b.start || b.end > t.size()) return at + "bad end " + std::to_string(b.end);
    const char first = t[b.start], last = t[b.end - 1];
    if (last == ' ' || last == '\n' || last == '\t') return at + "ends in whitespace";
    if (b.kind != BlockKind::kCode && (first == ' ' || first == '\n' || first == '\t')) {
      return at + "starts with whitespace";
    }
    if (b.kind == BlockKind::kHeading && (b.level < 1 || b.level > 6)) return at + "heading level out of range";
    if (b.page < 0 || (doc.pages > 0 && b.page > doc.pages) || (doc.pages == 0 && b.page != 0)) {
      return at + "page out of range";
    }
    expected_start = b.end;
  }
  if (expected_start != t.size()) return "text past the last block";
  return "";
}

const char* block_kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::kHeading:
      return "heading";
    case BlockKind::kParagraph:
      return "paragraph";
    case BlockKind::kListItem:
      return "list_item";
    case BlockKind::kTable:
      return "table";
    case BlockKind::kCode:
      return "code";
  }
  return "paragraph";
}

}  // namespace qembed::kb
