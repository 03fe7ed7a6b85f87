// libFuzzer target: the knowledge base's text extractor (src/kb/extract/extract_text.cpp and the shared extraction
// code, compiled into this target). Any byte string must yield a document that keeps ExtractedDocument's promises
// (check_document: valid UTF-8, no NUL, blocks in order inside the text) or an Error naming the file; never a
// crash, a hang or unbounded memory.
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "fuzz_util.hpp"
#include "kb/extract/extract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qembed::kb::ExtractLimits limits;
  limits.max_uncompressed_bytes = 64 << 20;  // within libFuzzer's -rss_limit_mb
  limits.max_xml_bytes = 16 << 20;
  limits.max_text_bytes = 16 << 20;
  try {
    const qembed::kb::ExtractedDocument doc =
        qembed::kb::extract_document_as(qembed::kb::kFormatText, {data, size}, "fuzz.txt", limits);
    if (const std::string problem = qembed::kb::check_document(doc); !problem.empty()) {
      qembed::fuzz::invariant_failed(problem);
    }
    if (doc.format != qembed::kb::kFormatText) qembed::fuzz::invariant_failed("format " + doc.format);
  } catch (const qembed::Error& e) {
    if (std::string(e.what()).rfind("fuzz.txt: ", 0) != 0) qembed::fuzz::invariant_failed(e.what());
  }
  return 0;
}
