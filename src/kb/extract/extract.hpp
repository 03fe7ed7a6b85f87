#pragma once
// Documents to text with structure: the first step of the knowledge base's ingestion. A file's bytes (PDF, DOCX,
// HTML, Markdown, plain text) become one UTF-8 text plus the blocks it is made of (headings with their level,
// paragraphs, list items, tables, code), each a byte range of the text, with the page it came from for PDFs.
// Chunking, section paths and storage come later (kb/text, kb/store) and read only this.
//
// Every failure is a qembed::Error whose message starts with the file's name: kInvalidInput for a file that is
// not what it claims or has no text, kLimit for a file past one of ExtractLimits. Nothing here reads the disk: the
// name is only used to pick the format and in messages. docs/kb.md lists what each format yields.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qembed::kb {

//! What a block of the text is.
enum class BlockKind { kHeading, kParagraph, kListItem, kTable, kCode };

//! One block: the bytes [start, end) of ExtractedDocument::text.
struct TextBlock {
  BlockKind kind = BlockKind::kParagraph;
  int level = 0;     //!< heading: 1..6; list item: nesting depth, 1 = top level; otherwise 0
  size_t start = 0;  //!< first byte in ExtractedDocument::text
  size_t end = 0;    //!< one past the last byte
  int page = 0;      //!< 1-based PDF page; 0 for formats without pages
};

//! A document's text and structure.
struct ExtractedDocument {
  std::string format;             //!< "pdf" | "docx" | "html" | "markdown" | "text"
  std::string title;              //!< metadata title, else the first heading; may be empty
  std::string text;               //!< valid UTF-8 without NUL; blocks joined by "\n\n"
  std::vector<TextBlock> blocks;  //!< in order, non-overlapping, never empty; every block's text is trimmed
  int pages = 0;                  //!< PDF page count (0 for other formats)
};

//! Bounds on what one file may cost. A file past one fails with a kLimit Error naming the bound.
struct ExtractLimits {
  int64_t max_input_bytes = int64_t{256} << 20;         //!< the file itself
  int64_t max_uncompressed_bytes = int64_t{512} << 20;  //!< DOCX: all zip entries read, as declared and as inflated
  int max_nesting = 512;                                //!< HTML/DOCX element depth, Markdown container depth
  int64_t max_text_bytes = int64_t{64} << 20;           //!< the extracted text
  int64_t max_xml_bytes = int64_t{128} << 20;           //!< DOCX: one XML part (its parsed tree is ~4x this)
};

//! The formats extract_document reads, as ExtractedDocument::format spells them.
inline constexpr std::string_view kFormatPdf = "pdf", kFormatDocx = "docx", kFormatHtml = "html",
                                  kFormatMarkdown = "markdown", kFormatText = "text";

//! The format of a file: from the name's extension when it is a known one (.pdf, .docx, .html/.htm/.xhtml,
//! .md/.markdown, .txt and other plain-text extensions), else from the bytes: "%PDF-", a zip with
//! word/document.xml, "<!doctype html" / "<html" (after whitespace and a BOM), else text when the bytes decode
//! as UTF-8 (or UTF-16 with a BOM). Throws an Error naming the file when none fits.
std::string detect_format(std::span<const uint8_t> bytes, std::string_view file_name);

//! Extracts the text and blocks of a file, in the format detect_format finds. Throws Error (kInvalidInput for a
//! bad or text-less file, kLimit past `limits`) with a message naming the file and what is wrong, e.g.
//! "report.pdf: the PDF is encrypted", "x.docx: uncompressed size exceeds 512 MiB (a zip bomb?)".
ExtractedDocument extract_document(std::span<const uint8_t> bytes, std::string_view file_name,
                                   const ExtractLimits& limits = {});

//! The same, in a given format (one of the kFormat* names), skipping detection.
ExtractedDocument extract_document_as(std::string_view format, std::span<const uint8_t> bytes,
                                      std::string_view file_name, const ExtractLimits& limits = {});

//! "" when `doc` keeps ExtractedDocument's promises (valid UTF-8, no NUL, blocks in order, inside the text,
//! trimmed, separated by "\n\n", levels in range), else what is broken. For tests and fuzz targets.
std::string check_document(const ExtractedDocument& doc);

//! "heading", "paragraph", "list_item", "table", "code".
const char* block_kind_name(BlockKind kind);

}  // namespace qembed::kb
