#pragma once
// Y = X W^T over int8-repacked weights (int8_weights.hpp): activations are quantized per sub-block to int8, inner
// sums are exact integer dot products. Used by matmul() for quantized weights at SIMD level avx512vnni and above.
#include <cstdint>

#include "kernels/int8_weights.hpp"
#include "kernels/thread_pool.hpp"

namespace qembed {

//! Scalar oracle of the int8 path: the same activation quantization and integer sums, in plain loops.
void matmul_int8_ref(const Int8Weights& w, const float* x, int64_t n_tokens, float* y);
//! AVX-512 VNNI path (requires simd_level_hardware() >= Avx512Vnni); matches matmul_int8_ref to float rounding.
void matmul_int8(const Int8Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

}  // namespace qembed
