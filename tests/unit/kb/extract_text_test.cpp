// Plain text decoding (BOMs, UTF-16, invalid UTF-8, binary), format detection and the shared checks.
#include <gtest/gtest.h>

#include <random>

#include "extract_test_util.hpp"

namespace qembed::kb {
namespace {

using test::describe_blocks;
using test::extract_error;
using test::extract_ok;
using Lines = std::vector<std::string>;

TEST(ExtractText, ParagraphsSplitOnBlankLines) {
  const ExtractedDocument doc =
      extract_ok("First line\nsame paragraph\n\n  \t\nSecond  paragraph\r\n\r\n\nThird\n", "notes.txt");
  EXPECT_EQ(doc.format, "text");
  EXPECT_EQ(doc.title, "");
  EXPECT_EQ(doc.pages, 0);
  EXPECT_EQ(describe_blocks(doc),
            (Lines{"paragraph: First line\nsame paragraph", "paragraph: Second  paragraph", "paragraph: Third"}));
  EXPECT_EQ(doc.text, "First line\nsame paragraph\n\nSecond  paragraph\n\nThird");
}

TEST(ExtractText, Utf8BomIsStripped) {
  EXPECT_EQ(extract_ok("\xEF\xBB\xBFh\xC3\xA9llo", "a.txt").text, "h\xC3\xA9llo");
}

TEST(ExtractText, Utf16WithBom) {
  // "Grüße 😀\n\nzwei" in UTF-16 LE and BE.
  const std::u16string s = u"Grüße 😀\n\nzwei";
  std::string le = "\xFF\xFE", be = "\xFE\xFF";
  for (char16_t c : s) {
    le += char(c & 0xFF), le += char(c >> 8);
    be += char(c >> 8), be += char(c & 0xFF);
  }
  for (const std::string& bytes : {le, be}) {
    const ExtractedDocument doc = extract_ok(bytes, "u16.txt");
    EXPECT_EQ(describe_blocks(doc), (Lines{"paragraph: Grüße 😀", "paragraph: zwei"}));
  }
  // An unpaired surrogate and an odd trailing byte become U+FFFD.
  EXPECT_EQ(extract_ok(std::string("\xFF\xFE"
                                   "a\0\x00\xD8"
                                   "b\0"
                                   "c",
                                   9),
                       "bad16.txt")
                .text,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(ExtractText, InvalidUtf8Rule) {
  // No valid multi-byte sequence: an old 8-bit file, read as Windows-1252.
  EXPECT_EQ(extract_ok("caf\xE9 cr\xE8me \x80 5", "latin1.txt").text, "caf\xC3\xA9 cr\xC3\xA8me \xE2\x82\xAC 5");
  // UTF-8 with a few stray bytes (at most 1%): each becomes U+FFFD.
  std::string mostly =
      "Gr\xC3\xBC\xC3\x9F"
      "e " +
      std::string(200, 'x') + "\xFF";
  EXPECT_EQ(extract_ok(mostly, "m.txt").text,
            "Gr\xC3\xBC\xC3\x9F"
            "e " +
                std::string(200, 'x') + "\xEF\xBF\xBD");
  // Many invalid bytes next to valid UTF-8: an error naming the first.
  const auto f = extract_error("\xC3\xA9t\xE9 \xFF\xFE\xFD", "mixed.txt");
  EXPECT_EQ(f.message, "mixed.txt: not UTF-8 text (invalid UTF-8 at byte 3)");
  EXPECT_EQ(f.kind, ErrorKind::kInvalidInput);
}

TEST(ExtractText, BinaryIsRejected) {
  EXPECT_EQ(extract_error(std::string("text then \0 a NUL", 17), "a.txt").message,
            "a.txt: not text (binary data at byte 10)");
  std::string controls = "abc\x01\x02\x03\x04 rest";
  EXPECT_EQ(extract_error(controls, "c.txt").message, "c.txt: not text (binary data at byte 3)");
  // A rare control character in a long text is dropped, not fatal.
  EXPECT_EQ(extract_ok("bell\x07" + std::string(200, 'y'), "bell.txt").text, "bell" + std::string(200, 'y'));
}

TEST(ExtractText, RandomBytesAreNotText) {
  std::mt19937 rng(42);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = char(rng());
  const auto f = extract_error(bytes, "random.txt");
  EXPECT_EQ(f.message.rfind("random.txt: not text (binary data at byte ", 0), 0u) << f.message;
  // Without an extension, detection refuses it too.
  EXPECT_EQ(extract_error(bytes, "random").message.rfind("random: unsupported format: not a PDF, DOCX, HTML", 0), 0u);
}

TEST(ExtractText, EmptyAndWhitespaceOnly) {
  EXPECT_EQ(extract_error("", "empty.md").message, "empty.md: the file is empty");
  EXPECT_EQ(extract_error(" \n\t\n", "blank.txt").message, "blank.txt: no text (only whitespace)");
}

TEST(ExtractText, Limits) {
  ExtractLimits limits;
  limits.max_input_bytes = 8;
  auto f = extract_error("123456789", "big.txt", limits);
  EXPECT_EQ(f.message, "big.txt: the file is 9 bytes, above the limit of 8 bytes");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
  limits = {};
  limits.max_text_bytes = 1024;
  f = extract_error(std::string(600, 'a') + "\n\n" + std::string(600, 'b'), "long.txt", limits);
  EXPECT_EQ(f.message, "long.txt: extracted text exceeds 1 KiB");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
}

TEST(ExtractText, NameIsOnlyUsedInMessages) {
  const ExtractedDocument doc = extract_ok("# Heading\n\ntext", "../../etc/passwd.md");
  EXPECT_EQ(doc.format, "markdown");
  EXPECT_EQ(describe_blocks(doc), (Lines{"heading1: Heading", "paragraph: text"}));
  EXPECT_EQ(extract_error("", "../../etc/passwd.md").message, "../../etc/passwd.md: the file is empty");
  EXPECT_EQ(extract_error("", "bad\nname\x01.txt").message, "bad name.txt: the file is empty");
  EXPECT_EQ(extract_error("", "").message, "(unnamed): the file is empty");
}

TEST(DetectFormat, ExtensionThenMagic) {
  const auto b = test::as_bytes;
  EXPECT_EQ(detect_format(b("anything"), "Report.PDF"), "pdf");
  EXPECT_EQ(detect_format(b("anything"), "dir.v2/x.docx"), "docx");
  EXPECT_EQ(detect_format(b("x"), "page.htm"), "html");
  EXPECT_EQ(detect_format(b("x"), "README.markdown"), "markdown");
  EXPECT_EQ(detect_format(b("x"), "main.cpp"), "text");
  EXPECT_EQ(detect_format(b("junk\n%PDF-1.7\n"), "download"), "pdf");
  EXPECT_EQ(detect_format(b("\xEF\xBB\xBF  <!DOCTYPE HTML><p>x"), "page"), "html");
  EXPECT_EQ(detect_format(b("<html><body>x"), "page.bin"), "html");
  EXPECT_EQ(detect_format(b("just words"), "noext"), "text");
  EXPECT_EQ(detect_format(b("\xFF\xFEh\0i\0"), ".hidden"), "text");
  const std::string docx = test::make_docx(test::docx_p("x"));
  EXPECT_EQ(detect_format(b(docx), "upload"), "docx");
  const std::string zip = test::make_zip({{"a.txt", "hello"}});
  try {
    detect_format(b(zip), "archive.zip");
    ADD_FAILURE() << "a zip is not a document";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "archive.zip: unsupported format: a zip archive that is not a DOCX (no word/document.xml)");
  }
}

}  // namespace
}  // namespace qembed::kb
