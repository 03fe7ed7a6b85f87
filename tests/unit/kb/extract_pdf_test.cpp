// PDF extraction over PDFs written in the test (extract_test_util.hpp: make_pdf).
#include <gtest/gtest.h>

#include "extract_test_util.hpp"

namespace qembed::kb {
namespace {

using test::describe_blocks;
using test::extract_error;
using test::extract_ok;
using test::make_pdf;
using Lines = std::vector<std::string>;

TEST(ExtractPdf, PagesParagraphsAndTitle) {
  const std::string pdf =
      make_pdf({{{"First line of one", "second line of one"}, {"Another paragraph"}}, {{"Page two text"}}},
               {.title = "Annual report"});
  const ExtractedDocument doc = extract_ok(pdf, "report.pdf");
  EXPECT_EQ(doc.format, "pdf");
  EXPECT_EQ(doc.title, "Annual report");
  EXPECT_EQ(doc.pages, 2);
  EXPECT_EQ(describe_blocks(doc), (Lines{"paragraph@p1: First line of one\nsecond line of one",
                                         "paragraph@p1: Another paragraph", "paragraph@p2: Page two text"}));
  EXPECT_EQ(doc.text, "First line of one\nsecond line of one\n\nAnother paragraph\n\nPage two text");
}

TEST(ExtractPdf, PageWithoutTextIsSkippedButCounted) {
  const std::string pdf = make_pdf({{{"Only page one has text"}}, {}});
  const ExtractedDocument doc = extract_ok(pdf, "a.pdf");
  EXPECT_EQ(doc.pages, 2);
  EXPECT_EQ(describe_blocks(doc), (Lines{"paragraph@p1: Only page one has text"}));
  EXPECT_EQ(doc.title, "");
}

TEST(ExtractPdf, Encrypted) {
  const auto f = extract_error(make_pdf({{{"secret"}}}, {.title = "", .encrypted = true}), "report.pdf");
  EXPECT_EQ(f.message, "report.pdf: the PDF is encrypted (it needs a password)");
  EXPECT_EQ(f.kind, ErrorKind::kInvalidInput);
}

TEST(ExtractPdf, ScannedPdfHasNoTextLayer) {
  const auto f = extract_error(
      make_pdf({{{"unused"}}, {{"unused"}}}, {.title = "", .encrypted = false, .image_only = true}), "scan.pdf");
  EXPECT_EQ(f.message, "scan.pdf: no text layer (a scanned PDF?)");
}

TEST(ExtractPdf, CorruptFiles) {
  EXPECT_EQ(extract_error("%PDF-1.4\nthis is not a PDF body at all\n", "x.pdf").message,
            "x.pdf: not a readable PDF (damaged, or not a PDF)");
  EXPECT_EQ(extract_error("hello", "x.pdf").message, "x.pdf: not a readable PDF (damaged, or not a PDF)");
  // Truncated in the middle: poppler may rebuild the cross-reference table; either text or a clear error.
  const std::string pdf = make_pdf({{{"Some words on the page"}}});
  for (size_t cut : {pdf.size() / 4, pdf.size() / 2, pdf.size() - 20}) {
    try {
      const ExtractedDocument doc = extract_document(test::as_bytes(pdf.substr(0, cut)), "cut.pdf");
      EXPECT_EQ(check_document(doc), "");
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.pdf: ", 0), 0u) << e.what();
    }
  }
}

TEST(ExtractPdf, TextLimit) {
  ExtractLimits limits;
  limits.max_text_bytes = 10;
  const auto f = extract_error(make_pdf({{{"more than ten bytes of text"}}}), "big.pdf", limits);
  EXPECT_EQ(f.message, "big.pdf: extracted text exceeds 10 bytes");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
}

}  // namespace
}  // namespace qembed::kb
