#pragma once
// The ggml tensor types qembed reads and writes, with their block geometry.
// Values are grouped in blocks along ne[0]; a row of n values takes n / block_values * block_bytes bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qembed {

//! ggml type ids as stored in GGUF tensor infos.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

//! Block geometry and name of one type.
struct GgmlTypeInfo {
  GgmlType type;
  const char* name;      //!< upper-case ggml name: "F16", "Q4_K"
  int32_t block_values;  //!< values per block (1 for float types)
  int32_t block_bytes;   //!< bytes per block
};

//! Info for a type id read from a file; nullptr when qembed does not support that id.
const GgmlTypeInfo* find_ggml_type(uint32_t id);
//! Info for a supported type.
const GgmlTypeInfo& ggml_type_info(GgmlType type);
//! Parses "q8_0", "Q4_K", "bf16" (case-insensitive).
std::optional<GgmlType> ggml_type_from_name(std::string_view name);
//! Bytes of a row of n_values; n_values must be a multiple of block_values.
size_t ggml_row_bytes(GgmlType type, int64_t n_values);

}  // namespace qembed
