// BF16 matmul: scalar oracle and the driver of the AVX-512 BF16 kernels (matmul_bf16_avx512bf16.cpp).
#include "kernels/matmul_bf16.hpp"

#include <vector>

#include "kernels/fp16.hpp"
#include "kernels/packed_matmul_driver.hpp"

namespace qembed {

void matmul_bf16_ref(const Bf16Weights& w, const float* x, int64_t n_tokens, float* y) {
  constexpr int G = Bf16Weights::kGroupRows;
  std::vector<float> xr(static_cast<size_t>(w.n_in));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t k = 0; k < w.n_in; ++k) xr[k] = bf16_to_f32(f32_to_bf16(x[t * w.n_in + k]));
    for (int64_t o = 0; o < w.n_out; ++o) {
      const auto* grp = reinterpret_cast<const uint16_t*>(w.group(o / G)) + (o % G) * 2;
      double acc = 0.0;
      for (int64_t k = 0; k < w.n_in; ++k) acc += static_cast<double>(bf16_to_f32(grp[(k / 2) * (2 * G) + k % 2])) * xr[k];
      y[t * w.n_out + o] = static_cast<float>(acc);
    }
  }
}

void matmul_bf16(const Bf16Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t tile_bytes = w.n_pairs * detail::kPackedTileTokens * 4;
  detail::run_packed_matmul(
      x, w.n_in, n_tokens, w.n_out, tile_bytes, y, &pool,
      [&](const float* xt, int mt, uint8_t* rec) { detail::bf16_prepare_tile_avx512bf16(xt, mt, w.n_in, rec); },
      [&](int64_t g, const uint8_t* act, int mt, float* yt, int n_valid) {
        detail::bf16_tile_avx512bf16(w, g, act, mt, yt, w.n_out, n_valid);
      });
}

}  // namespace qembed
