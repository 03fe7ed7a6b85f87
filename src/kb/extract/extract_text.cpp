// Plain text: decoded by decode_text's rule (BOMs, UTF-16, binary check, invalid UTF-8), paragraphs split on blank
// lines; the lines of a paragraph keep their breaks.
#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"
#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

bool is_blank_line(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

}  // namespace

ExtractedDocument extract_text(std::span<const uint8_t> bytes, std::string_view file_name,
                               const ExtractLimits& limits) {
  TextDecodeFailure failure;
  const std::string text = decode_text(bytes, &failure);
  if (failure.failed()) throw file_error(file_name, failure.what);
  DocumentBuilder builder(file_name, kFormatText, limits.max_text_bytes);
  const std::string_view all(text);
  size_t paragraph_start = std::string_view::npos;
  for (size_t pos = 0; pos <= all.size();) {
    size_t eol = all.find('\n', pos);
    if (eol == std::string_view::npos) eol = all.size();
    const std::string_view line = all.substr(pos, eol - pos);
    if (is_blank_line(line)) {
      if (paragraph_start != std::string_view::npos) {
        builder.add_block(BlockKind::kParagraph, 0, 0, all.substr(paragraph_start, pos - paragraph_start));
        paragraph_start = std::string_view::npos;
      }
    } else if (paragraph_start == std::string_view::npos) {
      paragraph_start = pos;
    }
    pos = eol + 1;
  }
  if (paragraph_start != std::string_view::npos) {
    builder.add_block(BlockKind::kParagraph, 0, 0, all.substr(paragraph_start));
  }
  return builder.finish(0, "no text (only whitespace)");
}

}  // namespace qembed::kb
