// libFuzzer target: safetensors files (formats/safetensors.hpp). Any byte string must either open cleanly or be
// rejected with qembed::Error; every tensor's data range must lie inside the mapping and match dtype x shape.
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "formats/safetensors.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = qembed::fuzz::write_scratch_file("safetensors", data, size);
  if (path.empty()) return 0;
  std::unique_ptr<qembed::SafetensorsFile> file;
  try {
    file = qembed::SafetensorsFile::open(path);
  } catch (const qembed::Error&) {
    return 0;  // rejecting bad input with Error is the expected outcome
  }
  unsigned sum = 0;
  for (const auto& t : file->tensors()) {
    if (file->find(t.name) == nullptr) qembed::fuzz::invariant_failed("tensor not found by name: " + t.name);
    sum += qembed::fuzz::touch_bytes(t.data, t.n_bytes);  // ASan catches a data range outside the map
  }
  (void)sum;
  return 0;
}
