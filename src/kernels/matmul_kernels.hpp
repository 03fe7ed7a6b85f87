#pragma once
// Internal interface between the matmul driver (matmul.cpp) and its per-ISA kernels (matmul_avx2.cpp,
// matmul_avx512.cpp). A kernel set packs a panel of weight rows into k-major f32 and multiplies it with a tile of
// tokens held in registers.
#include <cstdint>

#include "kernels/weight_matrix.hpp"

namespace qembed::detail {

//! K-block: a multiple of every block size (32 and 256), small enough that a packed panel (kc, nr) stays in L1/L2.
constexpr int64_t kMatmulKc = 256;

struct MatmulKernels {
  int nr;  //!< panel width: output rows per packed k (multiple of the vector width)
  int mr;  //!< most tokens per micro-kernel call
  //! packed (kc, nr): packed[k*nr + r] = W[o0 + r][k0 + k] for r < rows, 0 for rows <= r < nr.
  //! scratch holds at least (nr + 1) * kc floats.
  void (*pack_panel)(const WeightMatrix& w, int64_t o0, int rows, int64_t k0, int64_t kc, float* packed,
                     float* scratch);
  //! y[t*ldy + j] = (accumulate ? y[t*ldy + j] : 0) + sum_k xpack[k*mr + t] * packed[k*nr + j]
  //! for t < mt (1 <= mt <= mr), j < n_valid (<= nr). xpack: a token tile packed k-major, (kc, mr).
  void (*tile)(const float* packed, int64_t kc, const float* xpack, int mt, float* y, int64_t ldy, int n_valid,
               bool accumulate);
};

const MatmulKernels& matmul_kernels_scalar();
const MatmulKernels& matmul_kernels_avx2();
const MatmulKernels& matmul_kernels_avx512();

//! Values [k0, k0 + kc) of row o as f32 via dequantize_row_ref (k0, kc multiples of the block size, except for
//! the 1-value float types). The fallback for types without a SIMD decoder.
void decode_row_ref(const WeightMatrix& w, int64_t o, int64_t k0, int64_t kc, float* dst);

}  // namespace qembed::detail
