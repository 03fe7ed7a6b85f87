#include "formats/gguf_reader.hpp"

#include <limits>

#include "common/error.hpp"
#include "formats/byte_cursor.hpp"

namespace qembed {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;             // GGML_MAX_DIMS
// Smallest possible encodings, used to bound counts by the bytes left before reserving anything.
constexpr size_t kMinKvBytes = 8 + 4 + 1;              // key length, type, 1-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset

// Bytes of one element of a scalar type; strings count their u64 length prefix. 0 for ARRAY / unknown.
size_t min_value_bytes(uint32_t type) {
  switch (static_cast<GgufType>(type)) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::STRING:
      return 8;
    default:
      return 0;
  }
}

bool is_integer(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::BOOL:
      return true;
    default:
      return false;
  }
}

// One scalar as the variant stores it: unsigned -> uint64, signed -> int64, floats -> double.
GgufValue read_scalar(ByteCursor& in, GgufType t, const std::string& field) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::U8:
      v.value = uint64_t{in.read<uint8_t>(field)};
      break;
    case GgufType::I8:
      v.value = int64_t{in.read<int8_t>(field)};
      break;
    case GgufType::U16:
      v.value = uint64_t{in.read<uint16_t>(field)};
      break;
    case GgufType::I16:
      v.value = int64_t{in.read<int16_t>(field)};
      break;
    case GgufType::U32:
      v.value = uint64_t{in.read<uint32_t>(field)};
      break;
    case GgufType::I32:
      v.value = int64_t{in.read<int32_t>(field)};
      break;
    case GgufType::U64:
      v.value = in.read<uint64_t>(field);
      break;
    case GgufType::I64:
      v.value = in.read<int64_t>(field);
      break;
    case GgufType::F32:
      v.value = double{in.read<float>(field)};
      break;
    case GgufType::F64:
      v.value = in.read<double>(field);
      break;
    case GgufType::BOOL:
      v.value = in.read<uint8_t>(field) != 0;
      break;
    case GgufType::STRING:
      v.value = in.read_string(field);
      break;
    default:
      break;
  }
  return v;
}

GgufValue read_array(ByteCursor& in, const std::string& field) {
  size_t at = in.pos();
  uint32_t elem = in.read<uint32_t>(field + " array type");
  size_t elem_bytes = min_value_bytes(elem);
  if (elem_bytes == 0) {
    in.fail(field + ": unsupported array element type " + std::to_string(elem), at);
  }
  uint64_t n = in.read<uint64_t>(field + " array length");
  if (n > in.remaining() / elem_bytes) {
    in.fail(field + ": array of " + std::to_string(n) + " elements cannot fit in the " +
                std::to_string(in.remaining()) + " bytes left",
            at + 4);
  }
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.array_type = static_cast<GgufType>(elem);
  const GgufType t = v.array_type;
  if (t == GgufType::STRING) {
    std::vector<std::string> out;
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(in.read_string(field));
    v.value = std::move(out);
  } else if (t == GgufType::F32 || t == GgufType::F64) {
    std::vector<double> out;
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(std::get<double>(read_scalar(in, t, field).value));
    v.value = std::move(out);
  } else {
    // Integers and bools; u64 values above INT64_MAX wrap (no GGUF key we read uses them).
    std::vector<int64_t> out;
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      GgufValue e = read_scalar(in, t, field);
      if (auto* u = std::get_if<uint64_t>(&e.value))
        out.push_back(static_cast<int64_t>(*u));
      else if (auto* s = std::get_if<int64_t>(&e.value))
        out.push_back(*s);
      else
        out.push_back(std::get<bool>(e.value) ? 1 : 0);
    }
    v.value = std::move(out);
  }
  return v;
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  static const char* const kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : "unknown";
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // validated against overflow when the file was opened
  return n;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  auto f = std::unique_ptr<GgufFile>(new GgufFile());
  f->file_ = std::make_unique<MappedFile>(path);
  f->parse();
  return f;
}

void GgufFile::parse() {
  ByteCursor in(file_->data(), file_->size(), file_->path());
  uint32_t magic = in.read<uint32_t>("magic");
  if (magic != kGgufMagic) in.fail("not a GGUF file (bad magic)", 0);
  version_ = in.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    std::string hint = (version_ & 0xFFFF) == 0 && version_ != 0 ? " (big-endian files are not supported)" : "";
    in.fail("unsupported GGUF version " + std::to_string(version_) + hint, 4);
  }
  uint64_t n_tensors = in.read<uint64_t>("n_tensors");
  uint64_t n_kv = in.read<uint64_t>("n_kv");
  if (n_kv > in.remaining() / kMinKvBytes) {
    in.fail("n_kv = " + std::to_string(n_kv) + " cannot fit in the " + std::to_string(in.remaining()) + " bytes left",
            16);
  }
  if (n_tensors > in.remaining() / kMinTensorInfoBytes) {
    in.fail("n_tensors = " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(in.remaining()) +
                " bytes left",
            8);
  }

  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    size_t at = in.pos();
    std::string key = in.read_string("metadata key #" + std::to_string(i));
    std::string field = "metadata '" + key + "'";
    uint32_t type = in.read<uint32_t>(field + " type");
    GgufValue value;
    if (type == static_cast<uint32_t>(GgufType::ARRAY)) {
      value = read_array(in, field);
    } else if (min_value_bytes(type) != 0) {
      value = read_scalar(in, static_cast<GgufType>(type), field);
    } else {
      in.fail(field + ": unknown value type " + std::to_string(type), in.pos() - 4);
    }
    if (!kv_index_.emplace(key, kv_.size()).second) in.fail("duplicate metadata key '" + key + "'", at);
    kv_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* a = find("general.alignment")) {
    std::optional<int64_t> align;
    if (is_integer(a->type) && a->type != GgufType::BOOL) align = get_int("general.alignment");
    if (!align || *align <= 0 || *align > (1 << 30) || (*align & (*align - 1)) != 0) {
      in.fail("general.alignment must be a power of two", 24);
    }
    alignment_ = static_cast<uint32_t>(*align);
  }

  std::vector<size_t> info_at;
  tensors_.reserve(n_tensors);
  info_at.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    size_t at = in.pos();
    GgufTensorInfo t;
    t.name = in.read_string("tensor #" + std::to_string(i) + " name");
    std::string field = "tensor '" + t.name + "'";
    uint32_t n_dims = in.read<uint32_t>(field + " n_dims");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.fail(field + ": n_dims = " + std::to_string(n_dims) + " (must be 1.." + std::to_string(kMaxDims) + ")",
              in.pos() - 4);
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = in.read<uint64_t>(field + " ne");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (ne != 0 &&
           static_cast<uint64_t>(n_elements) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)) {
        in.fail(field + ": ne[" + std::to_string(d) + "] = " + std::to_string(ne) + " overflows the element count",
                in.pos() - 8);
      }
      n_elements *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    uint32_t type_id = in.read<uint32_t>(field + " type");
    const GgmlTypeInfo* info = find_ggml_type(type_id);
    if (info == nullptr)
      in.fail(field + ": unknown or unsupported ggml type id " + std::to_string(type_id), in.pos() - 4);
    t.type = info->type;
    if (t.ne[0] % info->block_values != 0) {
      in.fail(field + ": ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + info->name +
                  " block size " + std::to_string(info->block_values),
              at);
    }
    // n_elements / block_values * block_bytes cannot overflow: block_bytes <= 4 * block_values.
    t.n_bytes = static_cast<size_t>(n_elements / info->block_values) * static_cast<size_t>(info->block_bytes);
    t.offset = in.read<uint64_t>(field + " offset");
    if (t.offset % alignment_ != 0) {
      in.fail(field + ": data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                  std::to_string(alignment_),
              in.pos() - 8);
    }
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) in.fail("duplicate tensor name '" + t.name + "'", at);
    tensors_.push_back(std::move(t));
    info_at.push_back(at);
  }

  // The data section starts at the next multiple of the alignment; a file without tensor bytes may end earlier.
  size_t end_of_infos = in.pos();
  data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
  size_t data_size = data_offset_ <= file_->size() ? file_->size() - data_offset_ : 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensorInfo& t = tensors_[i];
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      in.fail("tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", +" + std::to_string(t.n_bytes) +
                  ") runs past the end of the data section (" + std::to_string(data_size) + " bytes at file offset " +
                  std::to_string(data_offset_) + ")",
              info_at[i]);
    }
    t.data = file_->data() + data_offset_ + t.offset;
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

void GgufFile::type_error(std::string_view key, const GgufValue& v, const char* expected) const {
  std::string got = gguf_type_name(v.type);
  if (v.type == GgufType::ARRAY) got += std::string(" of ") + gguf_type_name(v.array_type);
  throw Error(path() + ": metadata key '" + std::string(key) + "' has type " + got + ", expected " + expected);
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::STRING) type_error(key, *v, "string");
  return std::get<std::string>(v->value);
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!is_integer(v->type)) type_error(key, *v, "an integer");
  if (auto* b = std::get_if<bool>(&v->value)) return *b ? 1 : 0;
  if (auto* s = std::get_if<int64_t>(&v->value)) return *s;
  uint64_t u = std::get<uint64_t>(v->value);
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw Error(path() + ": metadata key '" + std::string(key) + "' value " + std::to_string(u) + " is too large");
  }
  return static_cast<int64_t>(u);
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto* d = std::get_if<double>(&v->value)) return *d;
  if (v->type == GgufType::BOOL || !is_integer(v->type)) type_error(key, *v, "a number");
  if (auto* s = std::get_if<int64_t>(&v->value)) return static_cast<double>(*s);
  return static_cast<double>(std::get<uint64_t>(v->value));
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::BOOL) type_error(key, *v, "bool");
  return std::get<bool>(v->value);
}

const std::vector<std::string>* GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->type != GgufType::ARRAY || v->array_type != GgufType::STRING) type_error(key, *v, "array of string");
  return &std::get<std::vector<std::string>>(v->value);
}

const std::vector<int64_t>* GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->type != GgufType::ARRAY || !is_integer(v->array_type)) type_error(key, *v, "array of integers");
  return &std::get<std::vector<int64_t>>(v->value);
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qembed
