#pragma once
// Y = X W^T over int8-repacked weights (int8_weights.hpp): activations are quantized per sub-block to int8, inner
// sums are exact integer dot products. Used by matmul() for quantized weights at SIMD level avx2 and above: vpdpbusd
// kernels at avx512vnni, vpmaddubsw + vpmaddwd kernels at avx2 and avx512 (AVX-512 without VNNI has no int8 dot
// product; the AVX2 int8 kernels still multiply 32 int8 pairs an instruction against 16 f32 FMAs for a zmm, and
// read a quarter of the f32 path's weight bytes).
#include <cstdint>

#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/thread_pool.hpp"

namespace qembed {

//! Scalar oracle of the int8 path: the same activation quantization and integer sums, in plain loops.
void matmul_int8_ref(const Int8Weights& w, const float* x, int64_t n_tokens, float* y);
//! Whether quantized weights with an int8 copy take the int8 path at `level` (the one place the rule lives: matmul()
//! dispatches on it and the CPU backend repacks exactly when it holds).
inline bool int8_path_at(SimdLevel level) { return level >= SimdLevel::Avx2; }
//! The kernels of `level` (capped at the hardware's): AVX-512 VNNI at avx512vnni, AVX2 at avx2 and avx512, the scalar
//! oracle's below. Matches matmul_int8_ref to float rounding (the integer sums are identical).
void matmul_int8(const Int8Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, SimdLevel level);

}  // namespace qembed
