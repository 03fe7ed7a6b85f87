#pragma once
// The readable scalar forward pass, kept forever as the oracle for the fast one: one sequence, every op from the
// reference kernels (dequantize_row_ref, matmul_ref, attention_ref), no batching, no chunking.
#include <cstdint>
#include <span>
#include <vector>

#include "model/model.hpp"

namespace qembed {

//! Which arithmetic the reference's projections use.
enum class ReferenceMatmul {
  kFloat,     //!< the model's math: dequantized weights times f32 activations (matmul_ref)
  kLikeFast,  //!< what the fast pass computes on this CPU: for weights repacked to int8 at load (and a SIMD
              //!< level that uses them), the int8 path's activation rounding (matmul_int8_ref)
};

//! Final hidden state of the last token after the output norm, (n_embd). Not normalized.
std::vector<float> forward_reference(const Model& model, std::span<const int32_t> tokens,
                                     ReferenceMatmul mode = ReferenceMatmul::kFloat);

}  // namespace qembed
