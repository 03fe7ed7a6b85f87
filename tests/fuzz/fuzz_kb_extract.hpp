#pragma once
// Shared body of the knowledge-base extractor fuzz targets (fuzz_kb_<format>.cpp): any byte string must yield a
// document that keeps ExtractedDocument's promises (check_document: valid UTF-8, no NUL, blocks in order inside the
// text) in the format asked for, or an Error naming the file; never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "fuzz_util.hpp"
#include "kb/extract/extract.hpp"

namespace qembed::fuzz {

inline int fuzz_kb_extract(const std::string& format, const std::string& file_name, const uint8_t* data, size_t size) {
  kb::ExtractLimits limits;
  limits.max_uncompressed_bytes = 64 << 20;  // within libFuzzer's -rss_limit_mb
  limits.max_xml_bytes = 16 << 20;
  limits.max_text_bytes = 16 << 20;
  try {
    const kb::ExtractedDocument doc = kb::extract_document_as(format, {data, size}, file_name, limits);
    if (const std::string problem = kb::check_document(doc); !problem.empty()) invariant_failed(problem);
    if (doc.format != format) invariant_failed("format " + doc.format);
  } catch (const Error& e) {
    if (std::string(e.what()).rfind(file_name + ": ", 0) != 0) invariant_failed(e.what());
  }
  return 0;
}

}  // namespace qembed::fuzz
