#pragma once
// One extractor per format (extract_<format>.cpp); extract.cpp picks one. Each takes the whole file, checks it
// against `limits` itself (except max_input_bytes and the empty file, which extract_document checks) and throws
// qembed::Error naming `file_name`. The fuzz targets call them directly.
#include <cstdint>
#include <span>
#include <string_view>

#include "kb/extract/extract.hpp"

namespace qembed::kb {

ExtractedDocument extract_pdf(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits);
ExtractedDocument extract_docx(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits);
ExtractedDocument extract_html(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits);
ExtractedDocument extract_markdown(std::span<const uint8_t> bytes, std::string_view file_name,
                                   const ExtractLimits& limits);
ExtractedDocument extract_text(std::span<const uint8_t> bytes, std::string_view file_name, const ExtractLimits& limits);

//! True when the bytes are a zip archive with a word/document.xml entry (detection only; reads no entry).
bool is_docx_archive(std::span<const uint8_t> bytes);

}  // namespace qembed::kb
