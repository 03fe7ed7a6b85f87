#pragma once
// GGUF v2/v3 reader (little-endian). Every count, length and offset is checked against the file size before
// use, so a truncated or hostile file yields an Error naming the file, the field and the byte offset, never an
// out-of-bounds read or an absurd allocation.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "formats/ggml_types.hpp"
#include "formats/mapped_file.hpp"

namespace qembed {

//! GGUF metadata value type ids.
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

//! One metadata value. Integers of any width land in int64/uint64, floats in double; arrays keep their
//! element type in `array_type`.
struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType array_type = GgufType::U8;  //!< element type when type == ARRAY
  std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string, std::vector<std::string>,
               std::vector<int64_t>, std::vector<double>>
      value;
};

//! One tensor: its info plus a pointer into the mapped data section.
struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  //!< ne[0] is the fastest-varying dimension
  uint64_t offset = 0;      //!< relative to the data section
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  int64_t n_elements() const;
};

class GgufFile {
 public:
  //! Opens and validates a GGUF file; throws Error ("FILE: what at byte N") on any problem.
  static std::unique_ptr<GgufFile> open(const std::string& path);

  uint32_t version() const { return version_; }
  size_t file_size() const { return file_->size(); }
  const std::string& path() const { return file_->path(); }

  //! All metadata keys in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  //! Typed getters: nullopt when absent; throw Error when present with an incompatible type.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;   //!< any integer type or bool
  std::optional<double> get_float(std::string_view key) const;  //!< any float or integer type
  std::optional<bool> get_bool(std::string_view key) const;
  const std::vector<std::string>* get_string_array(std::string_view key) const;
  const std::vector<int64_t>* get_int_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  uint32_t alignment() const { return alignment_; }    //!< general.alignment, default 32
  size_t data_offset() const { return data_offset_; }  //!< file offset of the data section

 private:
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> kv_index_;      // key -> index in kv_
  std::unordered_map<std::string, size_t> tensor_index_;  // name -> index in tensors_
  uint32_t alignment_ = 32;
  size_t data_offset_ = 0;

  void parse();
  [[noreturn]] void type_error(std::string_view key, const GgufValue& v, const char* expected) const;
};

//! Name of a metadata type ("u32", "string", "array"), for messages.
const char* gguf_type_name(GgufType type);

}  // namespace qembed
