#include "convert/quant_recipe.hpp"

#include <cctype>
#include <charconv>

namespace qembed::convert {

namespace {

// llama_ftype values (llama.cpp include/llama.h), so tools that read general.file_type name the file's type.
uint32_t llama_file_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
      return 0;
    case GgmlType::F16:
      return 1;
    case GgmlType::Q4_0:
      return 2;
    case GgmlType::Q4_1:
      return 3;
    case GgmlType::Q8_0:
      return 7;
    case GgmlType::Q5_0:
      return 8;
    case GgmlType::Q5_1:
      return 9;
    case GgmlType::Q4_K:
      return 14;  // Q4_K_S
    case GgmlType::Q5_K:
      return 16;  // Q5_K_S
    case GgmlType::Q6_K:
      return 18;
    case GgmlType::BF16:
      return 32;
  }
  return 0;
}

//! "blk.12.ffn_down.weight" -> 12; -1 for a tensor outside the blocks.
int64_t layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int64_t layer = -1;
  const char* begin = name.data() + 4;
  auto [end, ec] = std::from_chars(begin, name.data() + name.size(), layer);
  return ec == std::errc() && end != begin ? layer : -1;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The layers whose attn_v and ffn_down keep more bits in the _M mixes: the first and last eighth, where errors
// matter most, and every third layer between them.
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

}  // namespace

std::optional<QuantTarget> parse_quant_target(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "Q4_K_M") return QuantTarget{GgmlType::Q4_K, true, 15, name};
  if (name == "Q5_K_M") return QuantTarget{GgmlType::Q5_K, true, 17, name};
  std::optional<GgmlType> t = ggml_type_from_name(name);
  if (!t) return std::nullopt;
  return QuantTarget{*t, false, llama_file_type(*t), name};
}

TensorTypeChoice choose_tensor_type(const QuantTarget& target, std::string_view gguf_name, int n_dims, int64_t n_in,
                                    int64_t n_layer) {
  if (n_dims < 2) return {GgmlType::F32, ""};
  GgmlType type = target.base;
  if (target.mix) {
    const bool head =
        gguf_name == "token_embd.weight" || gguf_name == "cls.output.weight" || gguf_name == "output.weight";
    const bool sensitive = ends_with(gguf_name, ".attn_v.weight") || ends_with(gguf_name, ".ffn_down.weight");
    const int64_t layer = layer_of(gguf_name);
    if (head || (sensitive && layer >= 0 && use_more_bits(layer, n_layer))) type = GgmlType::Q6_K;
  }
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (n_in % info.block_values == 0) return {type, ""};
  const GgmlType fallback = n_in % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
  return {fallback, std::string(gguf_name) + " has n_in = " + std::to_string(n_in) + ", not a multiple of the " +
                        info.name + " block size; using " + ggml_type_info(fallback).name};
}

}  // namespace qembed::convert
