// DOCX extraction over archives written in the test with libzip (extract_test_util.hpp: make_docx, make_zip).
#include <gtest/gtest.h>

#include <cstring>

#include "extract_test_util.hpp"

namespace qembed::kb {
namespace {

using test::describe_blocks;
using test::docx_p;
using test::extract_error;
using test::extract_ok;
using test::make_docx;
using Lines = std::vector<std::string>;

TEST(ExtractDocx, HeadingsParagraphsListsTables) {
  const std::string list_item = R"(<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="3"/></w:numPr></w:pPr>)"
                                R"(<w:r><w:t>nested item</w:t></w:r></w:p>)";
  const std::string table = "<w:tbl><w:tblPr/><w:tr><w:tc>" + docx_p("Name") + "</w:tc><w:tc>" + docx_p("Value") +
                            "</w:tc></w:tr><w:tr><w:tc>" + docx_p("alpha") + "</w:tc><w:tc>" + docx_p("1") +
                            docx_p("one") + "</w:tc></w:tr></w:tbl>";
  const std::string runs =
      R"(<w:p><w:r><w:t xml:space="preserve">Split </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>bold</w:t></w:r>)"
      R"(<w:r><w:tab/><w:t>tab</w:t><w:br/><w:t>line</w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del>)"
      R"(<w:r><w:instrText> PAGE </w:instrText></w:r><w:hyperlink><w:r><w:t> link</w:t></w:r></w:hyperlink></w:p>)";
  const std::string body = docx_p("The Title", "Title") + docx_p("Intro", "Heading1") + runs + list_item + table +
                           docx_p("Deep", "Heading3") + docx_p("  ") + "<w:sectPr/>";
  const ExtractedDocument doc = extract_ok(make_docx(body, "", "Core title"), "x.docx");
  EXPECT_EQ(doc.format, "docx");
  EXPECT_EQ(doc.title, "Core title");
  EXPECT_EQ(describe_blocks(doc),
            (Lines{"heading1: The Title", "heading1: Intro", "paragraph: Split bold tab\nline link",
                   "list_item2: nested item", "table: Name | Value\nalpha | 1 one", "heading3: Deep"}));
}

TEST(ExtractDocx, LocalizedStylesThroughStylesXml) {
  const std::string styles =
      R"(<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">)"
      R"(<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>)"
      R"(<w:style w:type="paragraph" w:styleId="Titre2"><w:name w:val="Titre 2"/><w:pPr><w:outlineLvl w:val="1"/>)"
      R"(</w:pPr></w:style><w:style w:type="paragraph" w:styleId="Custom"><w:name w:val="My heading"/>)"
      R"(<w:basedOn w:val="berschrift1"/></w:style><w:style w:type="paragraph" w:styleId="Aufz"><w:name )"
      R"(w:val="List Bullet"/></w:style></w:styles>)";
  const std::string body = docx_p("Kapitel", "berschrift1") + docx_p("Section", "Titre2") + docx_p("Custom", "Custom") +
                           docx_p("Punkt", "Aufz") + docx_p("Text");
  const ExtractedDocument doc = extract_ok(make_docx(body, styles), "de.docx");
  EXPECT_EQ(doc.title, "Kapitel");  // no core.xml: the first heading
  EXPECT_EQ(describe_blocks(doc), (Lines{"heading1: Kapitel", "heading2: Section", "heading1: Custom",
                                         "list_item1: Punkt", "paragraph: Text"}));
}

TEST(ExtractDocx, BadArchives) {
  EXPECT_EQ(extract_error("PK\x03\x04 not really a zip", "x.docx")
                .message.rfind("x.docx: not a DOCX file (not a readable zip archive: ", 0),
            0u);
  EXPECT_EQ(extract_error(test::make_zip({{"a.txt", "hi"}}), "x.docx").message,
            "x.docx: not a DOCX file (no word/document.xml)");
  EXPECT_EQ(extract_error(test::make_zip({{"word/document.xml", "<w:document><unclosed>"}}), "x.docx").message,
            "x.docx: word/document.xml is not valid XML (Start-end tags mismatch at byte 21)");
  EXPECT_EQ(extract_error(make_docx(docx_p(" ")), "blank.docx").message, "blank.docx: no text in the document");
  const std::string doctype =
      test::make_zip({{"word/document.xml", "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><w:document/>"}});
  EXPECT_EQ(extract_error(doctype, "dtd.docx").message,
            "dtd.docx: word/document.xml has a DOCTYPE (not a Word document)");
}

TEST(ExtractDocx, DeclaredSizeOverTheLimit) {
  ExtractLimits limits;
  limits.max_uncompressed_bytes = 1 << 20;
  const std::string body = docx_p(std::string(2 << 20, 'a'));
  const auto f = extract_error(make_docx(body), "x.docx", limits);
  EXPECT_EQ(f.message, "x.docx: uncompressed size exceeds 1 MiB (a zip bomb?)");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
  limits = {};
  limits.max_xml_bytes = 1 << 20;
  EXPECT_EQ(extract_error(make_docx(body), "x.docx", limits).message, "x.docx: word/document.xml is larger than 1 MiB");
}

// Overwrites the uncompressed size of every entry (local header and central directory) with `size`.
void lie_about_sizes(std::string& zip, uint32_t size) {
  auto put32 = [&](size_t at) { std::memcpy(&zip[at], &size, 4); };
  for (size_t i = 0; i + 46 <= zip.size(); ++i) {
    if (zip.compare(i, 4, "PK\x03\x04") == 0) put32(i + 22);
    if (zip.compare(i, 4, "PK\x01\x02") == 0) put32(i + 24);
  }
}

TEST(ExtractDocx, ZipBombThatLiesAboutItsSize) {
  // 16 MiB of zeros deflate to ~16 KiB; the archive claims 1000 bytes. Reading stops at the declared size.
  std::string zeros(16 << 20, '\0');
  std::string zip = test::make_zip({{"word/document.xml", zeros}});
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(zip.size(), 1u << 20);
  lie_about_sizes(zip, 1000);
  const auto f = extract_error(zip, "bomb.docx");
  EXPECT_NE(f.message.find("bomb.docx: "), std::string::npos) << f.message;
  EXPECT_EQ(f.message, "bomb.docx: word/document.xml inflates past its declared size (a zip bomb?)");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
}

TEST(ExtractDocx, DeepNestingIsAnErrorNotACrash) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "<w:sdt><w:sdtContent>";
  body += docx_p("deep");
  for (int i = 0; i < 5000; ++i) body += "</w:sdtContent></w:sdt>";
  const auto f = extract_error(make_docx(body), "deep.docx");
  EXPECT_EQ(f.message, "deep.docx: XML nested deeper than 512 elements");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
}

}  // namespace
}  // namespace qembed::kb
