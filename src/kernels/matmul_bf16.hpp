#pragma once
// Y = X W^T over bf16-repacked weights (bf16_weights.hpp): activations rounded to bf16, products exact in f32,
// sums in f32. Used by matmul() for BF16 weights at SIMD level avx512bf16.
#include <cstdint>

#include "kernels/bf16_weights.hpp"
#include "kernels/thread_pool.hpp"

namespace qembed {

//! Scalar oracle: the same bf16 rounding of the activations, sums in double.
void matmul_bf16_ref(const Bf16Weights& w, const float* x, int64_t n_tokens, float* y);
//! AVX-512 BF16 path (requires simd_level_hardware() >= Avx512Bf16).
void matmul_bf16(const Bf16Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

namespace detail {
//! Activation tile for the bf16 kernel: [n_pairs][8 tokens][2 bf16], tokens past mt zero.
void bf16_prepare_tile_avx512bf16(const float* x, int mt, int64_t n_in, uint8_t* tile);
void bf16_tile_avx512bf16(const Bf16Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy,
                          int n_valid);
}  // namespace detail

}  // namespace qembed
