// AVX-512 BF16 kernels: activations to bf16 pairs in tile-major order, and an (up to 8 tokens x 16 rows) tile
// of vdpbf16ps — 32 multiply-adds per instruction, twice the f32 FMA, with no per-block scale work.
// GCC 12 flags _mm512_undefined_* inside its own intrinsics headers as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/matmul_bf16.hpp"
#include "kernels/packed_matmul_driver.hpp"

namespace qembed::detail {
namespace {
constexpr int kT = kPackedTileTokens;
}  // namespace

void bf16_prepare_tile_avx512bf16(const float* x, int mt, int64_t n_in, uint8_t* tile) {
  const int64_t n_pairs = (n_in + 1) / 2;
  auto* dst = reinterpret_cast<uint32_t*>(tile);  // [pair][token]: one bf16 pair per uint32
  if (mt < kT) std::memset(tile, 0, static_cast<size_t>(n_pairs * kT * 4));
  for (int t = 0; t < mt; ++t) {
    const float* xt = x + t * n_in;
    for (int64_t k = 0; k < n_in; k += 32) {
      const int64_t left = n_in - k;
      const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : left > 16 ? __mmask16((1u << (left - 16)) - 1) : 0;
      const __m512 lo = _mm512_maskz_loadu_ps(m0, xt + k), hi = _mm512_maskz_loadu_ps(m1, xt + k + 16);
      alignas(64) uint32_t pairs[16];  // pair j = (x[k+2j], x[k+2j+1]) as (low, high) bf16
      _mm512_store_si512(pairs, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
      const int64_t n = std::min<int64_t>(16, (left + 1) / 2);
      for (int64_t j = 0; j < n; ++j) dst[(k / 2 + j) * kT + t] = pairs[j];
    }
  }
}

namespace {

template <int MT>
void tile_mt(const Bf16Weights& w, int64_t g, const uint8_t* act, float* y, int64_t ldy, int n_valid) {
  __m512 acc[MT];
#pragma GCC unroll 8
  for (int t = 0; t < MT; ++t) acc[t] = _mm512_setzero_ps();
  const uint8_t* wp = w.group(g);
  const auto* xp = reinterpret_cast<const int32_t*>(act);
  for (int64_t p = 0; p < w.n_pairs; ++p, wp += 64, xp += kT) {
    const __m512bh wv = (__m512bh)_mm512_load_si512(wp);
#pragma GCC unroll 8
    for (int t = 0; t < MT; ++t) acc[t] = _mm512_dpbf16_ps(acc[t], wv, (__m512bh)_mm512_set1_epi32(xp[t]));
  }
  const __mmask16 mask = n_valid >= 16 ? __mmask16(0xffff) : __mmask16((1u << n_valid) - 1);
#pragma GCC unroll 8
  for (int t = 0; t < MT; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

}  // namespace

void bf16_tile_avx512bf16(const Bf16Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy,
                          int n_valid) {
  switch (mt) {
    case 8: return tile_mt<8>(w, g, act, y, ldy, n_valid);
    case 7: return tile_mt<7>(w, g, act, y, ldy, n_valid);
    case 6: return tile_mt<6>(w, g, act, y, ldy, n_valid);
    case 5: return tile_mt<5>(w, g, act, y, ldy, n_valid);
    case 4: return tile_mt<4>(w, g, act, y, ldy, n_valid);
    case 3: return tile_mt<3>(w, g, act, y, ldy, n_valid);
    case 2: return tile_mt<2>(w, g, act, y, ldy, n_valid);
    default: return tile_mt<1>(w, g, act, y, ldy, n_valid);
  }
}

}  // namespace qembed::detail
