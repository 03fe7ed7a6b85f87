#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "formats/pipelined_fill.hpp"
#include "formats/safetensors.hpp"

namespace qembed {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

size_t tensor_bytes(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape) {
  size_t n = safetensors_dtype_bytes(dtype);
  if (n == 0) throw Error("safetensors writer: tensor '" + name + "' has unknown dtype '" + dtype + "'");
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<SafetensorsLazyOut>& tensors) {
  // ordered_json keeps the tensors in the order given, which is also their order in the data section.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::vector<size_t> sizes;
  size_t offset = 0;
  for (const auto& t : tensors) {
    if (header.contains(t.name)) throw Error("safetensors writer: tensor '" + t.name + "' added twice");
    size_t n = tensor_bytes(t.name, t.dtype, t.shape);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    sizes.push_back(n);
    offset += n;
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');  // pad with spaces so the data section starts 8-aligned

  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
  auto write_bytes = [&](const void* p, size_t n) {
    if (n != 0 && std::fwrite(p, 1, n, f.get()) != n)
      throw Error(path + ": write failed (" + std::strerror(errno) + ")");
  };
  uint64_t header_len = text.size();
  write_bytes(&header_len, 8);
  write_bytes(text.data(), text.size());
  pipelined_fill(
      tensors.size(), [&](size_t i) { return sizes[i]; }, [&](size_t i, uint8_t* dst) { tensors[i].fill(dst); },
      [&](size_t, const std::vector<uint8_t>& buf) { write_bytes(buf.data(), buf.size()); });
  if (std::fflush(f.get()) != 0) throw Error(path + ": write failed (" + std::strerror(errno) + ")");
  if (std::fclose(f.release()) != 0) throw Error(path + ": close failed (" + std::strerror(errno) + ")");
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsOut>& tensors) {
  std::vector<SafetensorsLazyOut> lazy;
  lazy.reserve(tensors.size());
  for (const auto& t : tensors) {
    size_t n = tensor_bytes(t.name, t.dtype, t.shape);
    if (n != t.bytes.size()) {
      throw Error("safetensors writer: tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) +
                  " bytes, shape and dtype need " + std::to_string(n));
    }
    const SafetensorsOut* src = &t;
    lazy.push_back({t.name, t.dtype, t.shape, [src](uint8_t* dst) {
                      if (!src->bytes.empty()) std::memcpy(dst, src->bytes.data(), src->bytes.size());
                    }});
  }
  write_safetensors(path, lazy);
}

}  // namespace qembed
