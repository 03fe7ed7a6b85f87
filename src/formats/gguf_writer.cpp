#include "formats/gguf_writer.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/error.hpp"
#include "formats/pipelined_fill.hpp"

namespace qembed {
namespace {

enum : uint32_t { kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  const size_t at = out.size();
  out.resize(at + s.size());
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

template <typename T>
void put_array(std::vector<uint8_t>& out, uint32_t elem_type, const std::vector<T>& values) {
  put<uint32_t>(out, elem_type);
  put<uint64_t>(out, values.size());
  for (const T& v : values) put<T>(out, v);
}

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

std::vector<uint8_t>& GgufWriter::begin_kv(const std::string& key, uint32_t type) {
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) {
    throw Error("GGUF writer: metadata key '" + key + "' set twice");
  }
  keys_.push_back(key);
  auto& out = kv_bytes_.emplace_back();
  put_string(out, key);
  put<uint32_t>(out, type);
  return out;
}

void GgufWriter::set_string(const std::string& key, const std::string& value) {
  put_string(begin_kv(key, kString), value);
}
void GgufWriter::set_u8(const std::string& key, uint8_t value) { put(begin_kv(key, kU8), value); }
void GgufWriter::set_i8(const std::string& key, int8_t value) { put(begin_kv(key, kI8), value); }
void GgufWriter::set_u16(const std::string& key, uint16_t value) { put(begin_kv(key, kU16), value); }
void GgufWriter::set_i16(const std::string& key, int16_t value) { put(begin_kv(key, kI16), value); }
void GgufWriter::set_u32(const std::string& key, uint32_t value) { put(begin_kv(key, kU32), value); }
void GgufWriter::set_i32(const std::string& key, int32_t value) { put(begin_kv(key, kI32), value); }
void GgufWriter::set_u64(const std::string& key, uint64_t value) { put(begin_kv(key, kU64), value); }
void GgufWriter::set_i64(const std::string& key, int64_t value) { put(begin_kv(key, kI64), value); }
void GgufWriter::set_f32(const std::string& key, float value) { put(begin_kv(key, kF32), value); }
void GgufWriter::set_f64(const std::string& key, double value) { put(begin_kv(key, kF64), value); }
void GgufWriter::set_bool(const std::string& key, bool value) { put<uint8_t>(begin_kv(key, kBool), value ? 1 : 0); }

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& values) {
  auto& out = begin_kv(key, kArray);
  put<uint32_t>(out, kString);
  put<uint64_t>(out, values.size());
  for (const auto& s : values) put_string(out, s);
}
void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& values) {
  put_array(begin_kv(key, kArray), kI32, values);
}
void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& values) {
  put_array(begin_kv(key, kArray), kF32, values);
}
void GgufWriter::set_u64_array(const std::string& key, const std::vector<uint64_t>& values) {
  put_array(begin_kv(key, kArray), kU64, values);
}
void GgufWriter::set_bool_array(const std::string& key, const std::vector<bool>& values) {
  std::vector<uint8_t> bytes(values.begin(), values.end());
  put_array(begin_kv(key, kArray), kBool, bytes);
}

namespace {

// One scalar element of `type` from the reader's widened representation (unsigned -> uint64, signed -> int64,
// floats -> double), narrowed back to its stored width.
void put_scalar(std::vector<uint8_t>& out, uint32_t type, int64_t i, double f) {
  switch (type) {
    case kU8:
    case kBool:
      put<uint8_t>(out, static_cast<uint8_t>(i));
      break;
    case kI8:
      put<int8_t>(out, static_cast<int8_t>(i));
      break;
    case kU16:
      put<uint16_t>(out, static_cast<uint16_t>(i));
      break;
    case kI16:
      put<int16_t>(out, static_cast<int16_t>(i));
      break;
    case kU32:
      put<uint32_t>(out, static_cast<uint32_t>(i));
      break;
    case kI32:
      put<int32_t>(out, static_cast<int32_t>(i));
      break;
    case kU64:
      put<uint64_t>(out, static_cast<uint64_t>(i));
      break;
    case kI64:
      put<int64_t>(out, i);
      break;
    case kF32:
      put<float>(out, static_cast<float>(f));
      break;
    case kF64:
      put<double>(out, f);
      break;
    default:
      break;
  }
}

}  // namespace

void GgufWriter::set_value(const std::string& key, const GgufValue& value) {
  const auto type = static_cast<uint32_t>(value.type);
  if (value.type == GgufType::STRING) return set_string(key, std::get<std::string>(value.value));
  if (value.type != GgufType::ARRAY) {
    int64_t i = 0;
    double f = 0;
    if (auto* u = std::get_if<uint64_t>(&value.value)) i = static_cast<int64_t>(*u);
    if (auto* s = std::get_if<int64_t>(&value.value)) i = *s;
    if (auto* b = std::get_if<bool>(&value.value)) i = *b ? 1 : 0;
    if (auto* d = std::get_if<double>(&value.value)) f = *d;
    put_scalar(begin_kv(key, type), type, i, f);
    return;
  }
  const auto elem = static_cast<uint32_t>(value.array_type);
  if (auto* strings = std::get_if<std::vector<std::string>>(&value.value)) return set_string_array(key, *strings);
  if (elem == kArray || elem == kString) throw Error("GGUF writer: metadata key '" + key + "' is an array of arrays");
  auto& out = begin_kv(key, kArray);
  put<uint32_t>(out, elem);
  if (auto* ints = std::get_if<std::vector<int64_t>>(&value.value)) {
    put<uint64_t>(out, ints->size());
    for (int64_t v : *ints) put_scalar(out, elem, v, 0);
  } else if (auto* floats = std::get_if<std::vector<double>>(&value.value)) {
    put<uint64_t>(out, floats->size());
    for (double v : *floats) put_scalar(out, elem, 0, v);
  } else {
    put<uint64_t>(out, 0);
  }
}

void GgufWriter::set_alignment(uint32_t alignment) {
  assert(alignment != 0 && (alignment & (alignment - 1)) == 0);
  set_u32("general.alignment", alignment);
  alignment_ = alignment;
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                            std::function<void(uint8_t* dst)> fill) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (ne.empty() || ne.size() > 4 || ne[0] % info.block_values != 0) {
    throw Error("GGUF writer: tensor '" + name + "' has a shape that " + info.name + " cannot store");
  }
  for (const auto& t : tensors_) {
    if (t.name == name) throw Error("GGUF writer: tensor '" + name + "' added twice");
  }
  tensors_.push_back({name, type, ne, std::move(fill)});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head;
  put<uint32_t>(head, 0x46554747);  // "GGUF"
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_bytes_.size());
  for (const auto& kv : kv_bytes_) {
    const size_t at = head.size();
    head.resize(at + kv.size());
    std::memcpy(head.data() + at, kv.data(), kv.size());
  }

  // Tensor data is laid out in insertion order, each tensor starting at an aligned offset.
  std::vector<size_t> sizes;
  size_t offset = 0;
  for (const auto& t : tensors_) {
    int64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
    size_t n_bytes = ggml_row_bytes(t.type, t.ne[0]) * static_cast<size_t>(rows);
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) put<uint64_t>(head, static_cast<uint64_t>(n));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    sizes.push_back(n_bytes);
    offset = align_up(offset + n_bytes, alignment_);
  }
  head.resize(align_up(head.size(), alignment_), 0);

  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
  auto write_bytes = [&](const uint8_t* p, size_t n) {
    if (n != 0 && std::fwrite(p, 1, n, f.get()) != n)
      throw Error(path + ": write failed (" + std::strerror(errno) + ")");
  };
  write_bytes(head.data(), head.size());
  static const uint8_t kZeros[256] = {};
  pipelined_fill(
      tensors_.size(), [&](size_t i) { return sizes[i]; }, [&](size_t i, uint8_t* dst) { tensors_[i].fill(dst); },
      [&](size_t i, const std::vector<uint8_t>& buf) {
        write_bytes(buf.data(), buf.size());
        if (i + 1 == tensors_.size()) return;
        for (size_t pad = align_up(sizes[i], alignment_) - sizes[i]; pad > 0;) {
          size_t n = std::min(pad, sizeof(kZeros));
          write_bytes(kZeros, n);
          pad -= n;
        }
      });
  if (std::fflush(f.get()) != 0) throw Error(path + ": write failed (" + std::strerror(errno) + ")");
  FILE* raw = f.release();
  if (std::fclose(raw) != 0) throw Error(path + ": close failed (" + std::strerror(errno) + ")");
}

}  // namespace qembed
