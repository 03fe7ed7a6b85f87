#pragma once
// The readable scalar forward pass, kept forever as the oracle for the fast one: one sequence, every op from the
// reference kernels (dequantize_row_ref, matmul_ref, attention_ref), no batching, no chunking.
#include <cstdint>
#include <span>
#include <vector>

#include "model/model.hpp"

namespace qembed {

//! Final hidden state of the last token after the output norm, (n_embd). Not normalized.
std::vector<float> forward_reference(const Model& model, std::span<const int32_t> tokens);

}  // namespace qembed
