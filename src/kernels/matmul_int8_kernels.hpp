#pragma once
// Internal interface between the int8 matmul driver (matmul_int8.cpp) and its kernels (scalar oracle there,
// AVX-512 VNNI in matmul_int8_avx512vnni.cpp).
#include <cstdint>

#include "kernels/int8_weights.hpp"

namespace qembed::detail {

//! Activations quantized per sub-block of w.blk values: x[t][k] ≈ d[t][b] * q[t][k] for k in sub-block b.
//! zsum = -z * sum q (the zero-point correction, exact in int32), dsum = d * sum q (for the offset term m).
struct Int8ActivationsView {
  const int8_t* q;  //!< (n_tokens, n_in)
  const float* d;   //!< (n_tokens, n_blocks), as are zsum and dsum
  const int32_t* zsum;
  const float* dsum;
  int64_t n_in, n_blocks;
};

struct Int8Kernels {
  int mr;  //!< most tokens per tile call
  //! Quantizes one token row x (n_in values) into q/d/zsum/dsum for sub-blocks of `blk` values.
  void (*quantize_row)(const float* x, int64_t n_in, int blk, int zero_point, int8_t* q, float* d, int32_t* zsum,
                       float* dsum);
  //! y[t*ldy + r] = sum over sub-blocks for tokens t0..t0+mt-1 (mt <= mr) and rows r < n_valid of group g.
  void (*tile)(const Int8Weights& w, int64_t g, const Int8ActivationsView& a, int64_t t0, int mt, float* y,
               int64_t ldy, int n_valid);
};

const Int8Kernels& int8_kernels_scalar();
const Int8Kernels& int8_kernels_avx512vnni();

//! Shared by every quantize_row: the scale of a sub-block with largest magnitude amax, and its inverse (0 for an
//! all-zero sub-block, so every code is 0). Both paths use these exact float operations, so codes match bit for bit.
inline float int8_scale(float amax) { return amax / 127.0f; }
inline float int8_inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

}  // namespace qembed::detail
