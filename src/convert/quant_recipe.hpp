#pragma once
// Which ggml type each tensor of a Qwen3 GGUF gets for a requested file type, including the Q4_K_M / Q5_K_M mixes.
// One recipe for every writer (qembed quantize, the test-model generator), so a file quantized from a model and a
// test model generated in that type hold the same bytes.
//
// Mix recipe (like llama.cpp's in spirit, kept simple): every matrix gets the base K-quant (Q4_K or Q5_K) except
//   - token_embd.weight -> Q6_K (it is also the tied output in the LM, and embedding rows are read one at a time),
//     and so do a reranker's cls.output.weight and an LM's output.weight (rows of that same head, n_in = n_embd),
//   - attn_v and ffn_down -> Q6_K in the first and last eighth of the layers and every third layer in between.
// 1-D tensors (norms) stay F32. A type whose block size does not divide a matrix's n_in falls back to Q8_0 (or F16
// when n_in is not a multiple of 32), and the choice says why.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "formats/ggml_types.hpp"

namespace qembed::convert {

struct QuantTarget {
  GgmlType base = GgmlType::F32;
  bool mix = false;        //!< the _M recipe
  uint32_t file_type = 0;  //!< llama_ftype, stored as general.file_type
  std::string name;        //!< upper-case: "Q4_K_M"
};

//! "q4_k_m", "Q8_0", "bf16" ... (case-insensitive); nullopt for a name not in kQuantTargetNames.
std::optional<QuantTarget> parse_quant_target(std::string name);
//! The names parse_quant_target accepts, for help texts and errors.
inline constexpr const char* kQuantTargetNames =
    "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, "
    "Q4_K_M, Q5_K_M";

struct TensorTypeChoice {
  GgmlType type;
  std::string note;  //!< empty, or why the recipe's type could not be used
};

//! The type of tensor `gguf_name` (GGUF naming: "blk.3.attn_v.weight") with `n_dims` dimensions and `n_in` values
//! per row, in a model of `n_layer` blocks.
TensorTypeChoice choose_tensor_type(const QuantTarget& target, std::string_view gguf_name, int n_dims, int64_t n_in,
                                    int64_t n_layer);

}  // namespace qembed::convert
