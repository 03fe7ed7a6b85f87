// libFuzzer target: multipart/form-data bodies as the knowledge base's upload route streams them
// (server/http/multipart.hpp). The body is fed twice, whole and cut into chunks whose sizes come from the input's
// first byte: both runs must report the same parts with the same bytes, or both fail with a MultipartError; memory
// held between two feeds stays within a header block plus a delimiter. Anything else (a sanitizer report, another
// exception, a difference between the runs) is a finding.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "server/http/multipart.hpp"

namespace {

using qembed::server::MultipartError;
using qembed::server::MultipartLimits;
using qembed::server::MultipartParser;
using qembed::server::PartHeader;

constexpr const char* kBoundary = "b0undary";

struct Recorder : qembed::server::PartSink {
  void part_begin(const PartHeader& h) override {
    events += "B[" + h.name + "|" + h.filename.value_or("<none>") + "|" + h.content_type + "]";
  }
  void part_data(std::string_view bytes) override {
    if (bytes.empty()) qembed::fuzz::invariant_failed("empty part_data event");
    events.append(bytes);
  }
  void part_end() override { events += "E"; }
  std::string events;
};

//! The events of one run, or "failed".
std::string run(std::string_view body, size_t chunk, const MultipartLimits& limits) {
  MultipartParser parser(kBoundary, limits);
  Recorder sink;
  const size_t bound = limits.max_header_bytes + 64 + 16;
  try {
    for (size_t i = 0; i < body.size(); i += chunk) {
      parser.feed(body.substr(i, chunk), sink);
      if (parser.buffered_bytes() > bound) {
        qembed::fuzz::invariant_failed("the parser holds " + std::to_string(parser.buffered_bytes()) + " bytes");
      }
    }
    parser.finish();
  } catch (const MultipartError&) {
    return "failed";
  }
  return sink.events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 17;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const MultipartLimits limits{16, 512};
  const std::string whole = run(body, body.size() + 1, limits);
  const std::string cut = run(body, chunk, limits);
  if (whole != cut) qembed::fuzz::invariant_failed("chunked parse differs from the whole parse");
  return 0;
}
