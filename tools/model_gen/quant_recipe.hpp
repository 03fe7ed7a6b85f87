#pragma once
// Which ggml type each tensor gets for a requested --type, including the Q4_K_M / Q5_K_M mixes.
//
// Mix recipe (like llama.cpp's in spirit, kept simple): every matrix gets the base K-quant (Q4_K or Q5_K) except
//   - token_embd.weight -> Q6_K (it is also the tied output in the LM, and embedding rows are read one at a time),
//     and so does a reranker's cls.output.weight (rows of that same head, n_in = n_embd like token_embd),
//   - attn_v and ffn_down -> Q6_K in the first and last eighth of the layers and every third layer in between.
// 1-D tensors (norms) stay F32. A type whose block size does not divide a matrix's n_in falls back to Q8_0 (or F16
// when n_in is not a multiple of 32), with a note on stderr.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "formats/ggml_types.hpp"
#include "model_spec.hpp"

namespace qembed::model_gen {

struct TypeRequest {
  GgmlType base = GgmlType::F32;
  bool mix = false;    //!< _M recipe
  uint32_t file_type;  //!< llama_ftype stored as general.file_type
  std::string name;    //!< as the user wrote it, upper-case
};

inline std::optional<TypeRequest> parse_type_request(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "Q4_K_M") return TypeRequest{GgmlType::Q4_K, true, 15, name};
  if (name == "Q5_K_M") return TypeRequest{GgmlType::Q5_K, true, 17, name};
  auto t = ggml_type_from_name(name);
  if (!t) return std::nullopt;
  uint32_t ftype = 0;
  switch (*t) {
    case GgmlType::F32:
      ftype = 0;
      break;
    case GgmlType::F16:
      ftype = 1;
      break;
    case GgmlType::Q4_0:
      ftype = 2;
      break;
    case GgmlType::Q4_1:
      ftype = 3;
      break;
    case GgmlType::Q8_0:
      ftype = 7;
      break;
    case GgmlType::Q5_0:
      ftype = 8;
      break;
    case GgmlType::Q5_1:
      ftype = 9;
      break;
    case GgmlType::Q4_K:
      ftype = 14;
      break;  // Q4_K_S
    case GgmlType::Q5_K:
      ftype = 16;
      break;  // Q5_K_S
    case GgmlType::Q6_K:
      ftype = 18;
      break;
    case GgmlType::BF16:
      ftype = 32;
      break;
  }
  return TypeRequest{*t, false, ftype, name};
}

inline bool use_more_bits(int32_t layer, int32_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

inline GgmlType tensor_type(const TypeRequest& req, const TensorSpec& t, int32_t n_layer) {
  if (t.is_vector) return GgmlType::F32;
  GgmlType type = req.base;
  if (req.mix) {
    if (t.role == Role::TokenEmbd || t.role == Role::Classifier) type = GgmlType::Q6_K;
    if ((t.role == Role::AttnV || t.role == Role::FfnDown) && use_more_bits(t.layer, n_layer)) type = GgmlType::Q6_K;
  }
  if (t.cols % ggml_type_info(type).block_values != 0) {
    GgmlType fallback = t.cols % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
    std::cerr << "note: " << t.gguf_name << " has n_in = " << t.cols << ", not a multiple of the "
              << ggml_type_info(type).name << " block size; using " << ggml_type_info(fallback).name << "\n";
    type = fallback;
  }
  return type;
}

}  // namespace qembed::model_gen
