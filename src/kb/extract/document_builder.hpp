#pragma once
// What every extractor shares: the builder that joins blocks into the document's text (sanitized, trimmed,
// separated by "\n\n", capped at max_text_bytes), inline text with browser-like whitespace collapsing, and the
// file name as messages show it.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "kb/extract/extract.hpp"

namespace qembed::kb {

//! The file name as messages show it: control characters and invalid UTF-8 replaced, "(unnamed)" when empty.
std::string display_name(std::string_view file_name);

//! "512 MiB", "64 KiB" or "1234 bytes".
std::string format_bytes(int64_t n_bytes);

//! An invalid-input Error "<name>: <what>".
Error file_error(std::string_view file_name, std::string_view what);
//! A limit Error "<name>: <what>".
Error file_limit_error(std::string_view file_name, std::string_view what);

//! Joins blocks into an ExtractedDocument.
class DocumentBuilder {
 public:
  DocumentBuilder(std::string_view file_name, std::string_view format, int64_t max_text_bytes);

  //! Appends a block. The text is sanitized (sanitize_text) and trimmed (code keeps its first line's
  //! indentation); a block left empty is skipped. Throws a limit Error past max_text_bytes.
  void add_block(BlockKind kind, int level, int page, std::string_view text);

  //! The metadata title (sanitized, whitespace collapsed); an empty one leaves the first heading as the title.
  void set_title(std::string_view title);

  //! Blocks so far.
  size_t n_blocks() const { return doc_.blocks.size(); }
  //! Bytes of text so far.
  size_t text_bytes() const { return doc_.text.size(); }

  //! The document. Throws "<name>: <no_text_message>" when no block has text.
  ExtractedDocument finish(int pages = 0, std::string_view no_text_message = "no text found in the file");

 private:
  std::string name_;
  int64_t max_text_bytes_;
  ExtractedDocument doc_;
};

//! Inline text with HTML-like whitespace: runs of spaces, tabs and newlines become one space, none at the start,
//! an explicit line break is "\n". Verbatim text (code) is kept as it is.
class InlineText {
 public:
  //! Appends text, collapsing whitespace.
  void add(std::string_view s);
  //! Appends text as it is.
  void add_verbatim(std::string_view s);
  //! A hard line break: "\n", dropping a space before it.
  void line_break();
  //! A soft separation (between table cells, list markers): one space unless the text ends in whitespace.
  void space();
  bool empty() const { return text_.empty(); }
  size_t size() const { return text_.size(); }
  const std::string& str() const { return text_; }
  //! The text so far; the buffer is left empty.
  std::string take();

 private:
  std::string text_;
};

//! Collapses whitespace (InlineText rules) and trims: for titles and table cells.
std::string collapse_whitespace(std::string_view s);

}  // namespace qembed::kb
