#include "formats/ggml_types.hpp"

#include <array>
#include <cassert>
#include <cctype>

namespace qembed {
namespace {

// Block geometry from the ggml reference layouts (kernels/quant_block_layouts.hpp; checked bit for bit against ggml by tests/oracle/run_ggml_quant_crosscheck.sh).
constexpr std::array<GgmlTypeInfo, 11> kTypes = {{
    {GgmlType::F32, "F32", 1, 4},
    {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 18},
    {GgmlType::Q4_1, "Q4_1", 32, 20},
    {GgmlType::Q5_0, "Q5_0", 32, 22},
    {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},
    {GgmlType::Q4_K, "Q4_K", 256, 144},
    {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210},
    {GgmlType::BF16, "BF16", 1, 2},
}};

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

const GgmlTypeInfo* find_ggml_type(uint32_t id) {
  for (const auto& info : kTypes) {
    if (static_cast<uint32_t>(info.type) == id) return &info;
  }
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  const GgmlTypeInfo* info = find_ggml_type(static_cast<uint32_t>(type));
  assert(info != nullptr && "ggml_type_info called with an unsupported type");
  return *info;
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& info : kTypes) {
    if (equals_ignore_case(name, info.name)) return info.type;
  }
  return std::nullopt;
}

size_t ggml_row_bytes(GgmlType type, int64_t n_values) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  assert(n_values >= 0 && n_values % info.block_values == 0);
  return static_cast<size_t>(n_values / info.block_values) * static_cast<size_t>(info.block_bytes);
}

}  // namespace qembed
