#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "formats/safetensors.hpp"

namespace qembed {
namespace {

// The safetensors format caps its JSON header at 100 MB; a larger length is corrupt or hostile.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr size_t kHeaderStart = 8;

}  // namespace

size_t safetensors_dtype_bytes(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  f->file_ = std::make_unique<MappedFile>(path);
  f->parse();
  return f;
}

void SafetensorsFile::parse() {
  const std::string& path = file_->path();
  const size_t size = file_->size();
  auto fail = [&](const std::string& what, size_t at) -> void {
    throw Error(path + ": " + what + " at byte " + std::to_string(at));
  };
  if (size < kHeaderStart) fail("truncated file: header length needs 8 bytes, " + std::to_string(size) + " present", 0);
  uint64_t header_len;
  std::memcpy(&header_len, file_->data(), 8);
  if (header_len > size - kHeaderStart || header_len > kMaxHeaderBytes) {
    fail("header length " + std::to_string(header_len) + " exceeds the " + std::to_string(size - kHeaderStart) +
             " bytes after it (or the 100 MB limit)",
         0);
  }
  const size_t data_start = kHeaderStart + static_cast<size_t>(header_len);
  const size_t data_size = size - data_start;

  nlohmann::json header;
  try {
    const char* begin = reinterpret_cast<const char*>(file_->data() + kHeaderStart);
    header = nlohmann::json::parse(begin, begin + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON (") + e.what() + ")", kHeaderStart);
  }
  if (!header.is_object()) fail("header is not a JSON object", kHeaderStart);

  tensors_.reserve(header.size());
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) fail(where + ": header entry is not an object", kHeaderStart);
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) fail(where + ": missing or non-string dtype", kHeaderStart);
    if (shape == entry.end() || !shape->is_array()) fail(where + ": missing or non-array shape", kHeaderStart);
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      fail(where + ": data_offsets must be [begin, end] with non-negative integers", kHeaderStart);
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype = dtype->get<std::string>();
    const size_t elem_bytes = safetensors_dtype_bytes(t.dtype);
    if (elem_bytes == 0) fail(where + ": unknown dtype '" + t.dtype + "'", kHeaderStart);
    if (shape->size() > 8) fail(where + ": shape has " + std::to_string(shape->size()) + " dimensions", kHeaderStart);
    uint64_t n_elements = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) fail(where + ": shape entries must be non-negative integers", kHeaderStart);
      uint64_t n = d.get<uint64_t>();
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (n != 0 && n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / n)) {
        fail(where + ": shape overflows the element count", kHeaderStart);
      }
      n_elements *= n;
      t.shape.push_back(static_cast<int64_t>(n));
    }
    const uint64_t begin = (*offsets)[0].get<uint64_t>();
    const uint64_t end = (*offsets)[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
               ") lie outside the data section of " + std::to_string(data_size) + " bytes",
           data_start);
    }
    if (n_elements > std::numeric_limits<uint64_t>::max() / elem_bytes || end - begin != n_elements * elem_bytes) {
      fail(where + ": " + std::to_string(end - begin) + " data bytes do not match shape x " + t.dtype,
           data_start + begin);
    }
    t.data = file_->data() + data_start + begin;
    t.n_bytes = static_cast<size_t>(end - begin);
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qembed
