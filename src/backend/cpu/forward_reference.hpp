#pragma once
// The readable scalar forward pass, kept forever as the oracle for the CPU backend's fast one: one sequence, every
// op from the reference kernels (dequantize_row_ref, matmul_ref, attention_ref), no batching, no chunking. Other
// backends are tested against it too (through their outputs), so it reads the model directly, not a backend.
#include <cstdint>
#include <span>
#include <vector>

#include "backend/cpu/cpu_weights.hpp"
#include "model/model.hpp"

namespace qembed {

//! Final hidden state of the last token after the output norm, (n_embd). Not normalized.
//! `like_fast` picks the arithmetic of the projections:
//!  - null: the model's math, dequantized weights times f32 activations (matmul_ref);
//!  - the weights a CpuBackend prepared (CpuBackend::weights()): what that backend computes — matrices it repacked
//!    to int8 use the int8 path's activation rounding (matmul_int8_ref), the others matmul_ref.
std::vector<float> forward_reference(const Model& model, std::span<const int32_t> tokens,
                                     const CpuWeights* like_fast = nullptr);

}  // namespace qembed
