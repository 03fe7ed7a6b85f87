// libFuzzer target: the CLI's JSONL input reader (src/cli/jsonl.hpp, compiled into this target). Any byte string
// must yield objects with a string "text" until the end, or stop at an Error naming the line; never a crash.
#include <cstdint>
#include <string>

#include "cli/jsonl.hpp"
#include "common/error.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // JsonlReader reads from a path (or stdin), so the bytes go through a scratch file.
  const std::string& path = qembed::fuzz::write_scratch_file("jsonl", data, size);
  if (path.empty()) return 0;
  try {
    qembed::cli::JsonlReader reader(path);
    int64_t n_objects = 0;
    while (auto obj = reader.next()) {
      (void)qembed::cli::JsonlReader::text_of(*obj);
      if (++n_objects > reader.line_number()) qembed::fuzz::invariant_failed("more objects than lines");
    }
  } catch (const qembed::Error&) {
    // malformed lines are reported with Error
  }
  return 0;
}
