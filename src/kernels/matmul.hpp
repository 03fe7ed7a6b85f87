#pragma once
// Y = X W^T for a weight matrix in its stored format.
//   X: (n_tokens, n_in) row-major f32;  W: (n_out, n_in) stored type;  Y: (n_tokens, n_out) row-major f32.
// The fast path decodes W in panels of rows into an f32 scratch (quantized weights stay quantized in memory)
// and multiplies each panel with all tokens using a register-blocked SIMD micro-kernel, so decode cost is paid
// once per panel per call, not per token. Quantized weights the caller repacked for int8 dot products
// (int8_weights.hpp) take the int8 path instead at avx2 and above (int8_path_at).
//
// The SIMD level is a parameter (defaulting to the process-wide simd_level()) so a backend that fixed its level at
// construction never mixes paths, whatever the process level does meanwhile.
#include <cstdint>

#include "kernels/cpu_features.hpp"
#include "kernels/thread_pool.hpp"
#include "kernels/weight_matrix.hpp"

namespace qembed {

struct Int8Weights;

//! Scalar reference: dequantize_row_ref + double accumulation. The oracle for matmul().
void matmul_ref(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);
//! Fast path at `level` (capped at the hardware's). With `packed` (the int8 copy of `w`, or null) and a level of
//! avx2 or above: the int8 path (matches matmul_int8_ref to float rounding); otherwise the f32 path, which
//! matches matmul_ref to float rounding (order of summation differs).
void matmul(const WeightMatrix& w, const Int8Weights* packed, const float* x, int64_t n_tokens, float* y,
            ThreadPool& pool, SimdLevel level = simd_level());
//! The f32 path (no packed copy) at the process-wide level.
inline void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  matmul(w, nullptr, x, n_tokens, y, pool);
}

}  // namespace qembed
