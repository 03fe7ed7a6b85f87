#pragma once
// Y = X W^T for a weight matrix in its stored format.
//   X: (n_tokens, n_in) row-major f32;  W: (n_out, n_in) stored type;  Y: (n_tokens, n_out) row-major f32.
// The fast path decodes W in panels of rows into an f32 scratch (quantized weights stay quantized in memory)
// and multiplies each panel with all tokens using a register-blocked SIMD micro-kernel, so decode cost is paid
// once per panel per call, not per token.
#include <cstdint>

#include "kernels/thread_pool.hpp"
#include "kernels/weight_matrix.hpp"

namespace qembed {

//! Scalar reference: dequantize_row_ref + double accumulation. The oracle for matmul().
void matmul_ref(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);
//! Fast path; results match matmul_ref to float rounding (order of summation differs).
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

}  // namespace qembed
