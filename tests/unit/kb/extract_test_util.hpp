#pragma once
// Builders for the extraction tests: sample files are written here, in the test, never committed as binaries.
//   make_pdf: a hand-written PDF (text objects, xref with exact offsets), optionally encrypted or image-only;
//   make_zip: a zip archive written by libzip from (name, bytes) pairs (DOCX files);
//   docx_document_xml: a word/document.xml around body XML.
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "kb/extract/extract.hpp"

namespace qembed::kb::test {

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

//! The text of block i.
inline std::string block_text(const ExtractedDocument& doc, size_t i) {
  const TextBlock& b = doc.blocks.at(i);
  return doc.text.substr(b.start, b.end - b.start);
}

//! Extracts and checks the document's invariants.
inline ExtractedDocument extract_ok(std::string_view bytes, std::string_view name, const ExtractLimits& limits = {}) {
  ExtractedDocument doc = extract_document(as_bytes(bytes), name, limits);
  EXPECT_EQ(check_document(doc), "") << name;
  return doc;
}

struct Failure {
  std::string message;
  ErrorKind kind = ErrorKind::kInternal;
};

//! The Error extract_document throws (a test failure when it does not).
inline Failure extract_error(std::string_view bytes, std::string_view name, const ExtractLimits& limits = {}) {
  try {
    const ExtractedDocument doc = extract_document(as_bytes(bytes), name, limits);
    ADD_FAILURE() << name << ": expected an error, got text \"" << doc.text.substr(0, 200) << "\"";
  } catch (const Error& e) {
    return {e.what(), e.kind()};
  }
  return {};
}

//! (kind, level, text) of every block, for compact expectations.
inline std::vector<std::string> describe_blocks(const ExtractedDocument& doc) {
  std::vector<std::string> out;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const TextBlock& b = doc.blocks[i];
    std::string d = block_kind_name(b.kind);
    if (b.level != 0) d += std::to_string(b.level);
    if (b.page != 0) d += "@p" + std::to_string(b.page);
    out.push_back(d + ": " + block_text(doc, i));
  }
  return out;
}

struct PdfOptions {
  std::string title;
  bool encrypted = false;   //!< an /Encrypt dictionary whose user password is not empty
  bool image_only = false;  //!< pages draw a 1x1 image and no text
};

//! A PDF whose pages hold paragraphs of lines (Helvetica 12 pt, 14 pt between lines, 40 pt between paragraphs).
//! Text must not contain "(", ")" or "\".
inline std::string make_pdf(const std::vector<std::vector<std::vector<std::string>>>& pages,
                            const PdfOptions& options = {}) {
  std::vector<std::string> objects;  // objects[i] is object i+1's body
  auto add = [&](std::string body) {
    objects.push_back(std::move(body));
    return int(objects.size());
  };
  auto stream = [](const std::string& data, const std::string& dict = "") {
    return "<< /Length " + std::to_string(data.size()) + dict + " >>\nstream\n" + data + "\nendstream";
  };
  const int catalog = add("<< /Type /Catalog /Pages 2 0 R >>");
  const int pages_obj = add("");  // filled below
  const int font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  const int image = add(stream("\x80",
                               " /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
                               "/BitsPerComponent 8"));
  std::string kids;
  for (const auto& paragraphs : pages) {
    std::string content;
    if (options.image_only) {
      content = "q 100 0 0 100 72 600 cm /Im1 Do Q";
    } else {
      content = "BT /F1 12 Tf 72 720 Td";
      bool first = true;
      for (const auto& lines : paragraphs) {
        if (!first) content += " 0 -40 Td";
        for (size_t i = 0; i < lines.size(); ++i) {
          if (i > 0) content += " 0 -14 Td";
          content += " (" + lines[i] + ") Tj";
        }
        first = false;
      }
      content += " ET";
    }
    const int contents = add(stream(content));
    const int page = add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 " +
                         std::to_string(font) + " 0 R >> /XObject << /Im1 " + std::to_string(image) +
                         " 0 R >> >> /Contents " + std::to_string(contents) + " 0 R >>");
    kids += std::to_string(page) + " 0 R ";
  }
  objects[pages_obj - 1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages.size()) + " >>";
  const int info = add("<< /Title (" + options.title + ") /Producer (qembed test) >>");
  int encrypt = 0;
  if (options.encrypted) {
    const std::string key32 = "<" + std::string(64, 'A') + ">";
    encrypt = add("<< /Filter /Standard /V 1 /R 2 /Length 40 /O " + key32 + " /U " + key32 + " /P -44 >>");
  }

  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root " + std::to_string(catalog) +
         " 0 R /Info " + std::to_string(info) + " 0 R";
  if (encrypt != 0) {
    pdf += " /Encrypt " + std::to_string(encrypt) +
           " 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> "
           "<0123456789ABCDEF0123456789ABCDEF>]";
  }
  pdf += " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

//! A zip archive of (name, content) entries, deflated, written by libzip in memory.
inline std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  EXPECT_NE(archive, nullptr);
  for (const auto& [name, content] : entries) {
    zip_source_t* s = zip_source_buffer(archive, content.data(), content.size(), 0);
    EXPECT_GE(zip_file_add(archive, name.c_str(), s, ZIP_FL_OVERWRITE), 0);
  }
  EXPECT_EQ(zip_close(archive), 0);
  std::string out;
  EXPECT_EQ(zip_source_open(buffer), 0);
  char chunk[65536];
  for (zip_int64_t n; (n = zip_source_read(buffer, chunk, sizeof chunk)) > 0;) out.append(chunk, size_t(n));
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

//! word/document.xml with this body content.
inline std::string docx_document_xml(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)" +
         body + "</w:body></w:document>";
}

//! A paragraph; `style` is a w:pStyle id ("" for none).
inline std::string docx_p(const std::string& text, const std::string& style = "") {
  std::string p = "<w:p>";
  if (!style.empty()) p += "<w:pPr><w:pStyle w:val=\"" + style + "\"/></w:pPr>";
  return p + "<w:r><w:t xml:space=\"preserve\">" + text + "</w:t></w:r></w:p>";
}

//! A DOCX of body XML, with optional styles.xml and core.xml title.
inline std::string make_docx(const std::string& body, const std::string& styles_xml = "",
                             const std::string& title = "") {
  std::vector<std::pair<std::string, std::string>> entries = {
      {"[Content_Types].xml", R"(<?xml version="1.0"?><Types/>)"}, {"word/document.xml", docx_document_xml(body)}};
  if (!styles_xml.empty()) entries.emplace_back("word/styles.xml", styles_xml);
  if (!title.empty()) {
    entries.emplace_back("docProps/core.xml",
                         R"(<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/)"
                         R"(package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">)"
                         "<dc:title>" +
                             title + "</dc:title></cp:coreProperties>");
  }
  return make_zip(entries);
}

}  // namespace qembed::kb::test
