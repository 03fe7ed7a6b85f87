// PDF (poppler-cpp): each page's words in poppler's reading order, joined into lines and split into paragraphs
// where the vertical gap between two lines is larger than most of a line's height; one page number per block. The
// title comes from the document information dictionary.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>
#include <vector>

#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"

namespace qembed::kb {

namespace {

std::string to_utf8(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.data(), bytes.size());
}

// poppler prints its complaints about damaged files to stderr; the caller gets an Error instead.
void silence_poppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// One line of a page as poppler's words give it: text and vertical extent (points, y down).
struct PdfLine {
  std::string text;
  double top = 0, bottom = 0, right = 0;
};

// The page's words (poppler's reading order) joined into lines: a word starts a new line when it begins below the
// middle of the current line or left of where that line ends (the next line, the next column).
std::vector<PdfLine> page_lines(const poppler::page& page) {
  std::vector<PdfLine> lines;
  bool space_after = false;
  for (const poppler::text_box& word : page.text_list()) {
    const poppler::rectf box = word.bbox();
    const double height = std::max(box.height(), 1.0);
    const bool new_line = lines.empty() || box.top() > (lines.back().top + lines.back().bottom) / 2 ||
                          box.left() < lines.back().right - height || box.bottom() < lines.back().top;
    if (new_line) {
      lines.push_back({"", box.top(), box.bottom(), box.right()});
    } else {
      PdfLine& line = lines.back();
      if (space_after) line.text += ' ';
      line.top = std::min(line.top, box.top());
      line.bottom = std::max(line.bottom, box.bottom());
      line.right = std::max(line.right, box.right());
    }
    lines.back().text += to_utf8(word.text());
    space_after = word.has_space_after();
  }
  return lines;
}

// Paragraphs of one page: lines separated by a gap larger than most of a line's height start a new one, and so
// does a line above the previous one (the next column).
void add_page_text(DocumentBuilder& builder, const poppler::page& page, int page_number) {
  std::string paragraph;
  const PdfLine* previous = nullptr;
  const std::vector<PdfLine> lines = page_lines(page);
  for (const PdfLine& line : lines) {
    if (previous != nullptr) {
      const double height = std::max({previous->bottom - previous->top, line.bottom - line.top, 1.0});
      const double gap = line.top - previous->bottom;
      if (gap > 0.8 * height || line.bottom < previous->top) {
        builder.add_block(BlockKind::kParagraph, 0, page_number, paragraph);
        paragraph.clear();
      } else {
        paragraph += '\n';
      }
    }
    paragraph += line.text;
    previous = &line;
  }
  builder.add_block(BlockKind::kParagraph, 0, page_number, paragraph);
}

}  // namespace

ExtractedDocument extract_pdf(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits) {
  silence_poppler();
  if (bytes.size() > size_t(INT_MAX)) throw file_limit_error(file_name, "a PDF must be under 2 GiB");
  // load_from_raw_data reads the caller's bytes in place; they outlive `doc`.
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(reinterpret_cast<const char*>(bytes.data()), int(bytes.size())));
  if (!doc) throw file_error(file_name, "not a readable PDF (damaged, or not a PDF)");
  if (doc->is_locked()) throw file_error(file_name, "the PDF is encrypted (it needs a password)");
  const int n_pages = doc->pages();
  if (n_pages <= 0) throw file_error(file_name, "the PDF has no pages");

  DocumentBuilder builder(file_name, kFormatPdf, limits.max_text_bytes);
  builder.set_title(to_utf8(doc->get_title()));
  for (int i = 0; i < n_pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;
    add_page_text(builder, *page, i + 1);
  }
  return builder.finish(n_pages, "no text layer (a scanned PDF?)");
}

}  // namespace qembed::kb
