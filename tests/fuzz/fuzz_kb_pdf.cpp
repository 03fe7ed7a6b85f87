// libFuzzer target: the knowledge base's pdf extractor (src/kb/extract/extract_pdf.cpp and the shared extraction
// code, compiled into this target). Any byte string must yield a document that keeps ExtractedDocument's promises
// (check_document: valid UTF-8, no NUL, blocks in order inside the text) or an Error naming the file; never a
// crash, a hang or unbounded memory.
#include "fuzz_kb_extract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qembed::fuzz::fuzz_kb_extract(std::string(qembed::kb::kFormatPdf), "fuzz.pdf", data, size);
}
