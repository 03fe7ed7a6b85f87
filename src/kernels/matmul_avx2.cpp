// AVX2 matmul kernels: SIMD row decoders (F16, BF16, Q8_0; F32 in place), a plain transpose into the k-major
// panel, and a (6 tokens x 16 outputs) FMA micro-kernel with 12 ymm accumulators.
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul_kernels.hpp"

namespace qembed::detail {
namespace {

constexpr int kNr = 16;
constexpr int kMr = 6;

void decode_f16(const uint8_t* src, int64_t kc, float* dst) {
  const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8)
    _mm256_storeu_ps(dst + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + k))));
  for (; k < kc; ++k) dst[k] = _cvtsh_ss(s[k]);
}

void decode_bf16(const uint8_t* src, int64_t kc, float* dst) {
  const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + k)));
    _mm256_storeu_ps(dst + k, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
  }
  for (; k < kc; ++k) {
    const uint32_t bits = static_cast<uint32_t>(s[k]) << 16;
    std::memcpy(dst + k, &bits, 4);
  }
}

void decode_q8_0(const uint8_t* src, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; k += 32, src += 34) {
    uint16_t dh;
    std::memcpy(&dh, src, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
    for (int j = 0; j < 4; ++j) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 2 + 8 * j));
      _mm256_storeu_ps(dst + k + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
}

const float* row_values(const WeightMatrix& w, int64_t o, int64_t k0, int64_t kc, float* dst) {
  const uint8_t* row = w.row(o);
  switch (w.type) {
    case GgmlType::F32: return reinterpret_cast<const float*>(row) + k0;
    case GgmlType::F16: decode_f16(row + k0 * 2, kc, dst); return dst;
    case GgmlType::BF16: decode_bf16(row + k0 * 2, kc, dst); return dst;
    case GgmlType::Q8_0: decode_q8_0(row + (k0 / 32) * 34, kc, dst); return dst;
    default: decode_row_ref(w, o, k0, kc, dst); return dst;
  }
}

void pack_panel(const WeightMatrix& w, int64_t o0, int rows, int64_t k0, int64_t kc, float* packed, float* scratch) {
  for (int r = 0; r < rows; ++r) {
    const float* v = row_values(w, o0 + r, k0, kc, scratch + r * kc);
    for (int64_t k = 0; k < kc; ++k) packed[k * kNr + r] = v[k];
  }
  for (int r = rows; r < kNr; ++r)
    for (int64_t k = 0; k < kc; ++k) packed[k * kNr + r] = 0.0f;
}

template <int MR>
void tile_mr(const float* packed, int64_t kc, const float* x, float* y, int64_t ldy, int n_valid,
             bool accumulate) {
  __m256 acc[MR][2];
  alignas(32) float buf[MR][kNr];
  const bool full = n_valid == kNr;
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    if (!accumulate) {
      acc[t][0] = _mm256_setzero_ps();
      acc[t][1] = _mm256_setzero_ps();
    } else if (full) {
      acc[t][0] = _mm256_loadu_ps(y + t * ldy);
      acc[t][1] = _mm256_loadu_ps(y + t * ldy + 8);
    } else {
      for (int j = 0; j < kNr; ++j) buf[t][j] = j < n_valid ? y[t * ldy + j] : 0.0f;
      acc[t][0] = _mm256_load_ps(buf[t]);
      acc[t][1] = _mm256_load_ps(buf[t] + 8);
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 w0 = _mm256_loadu_ps(packed + k * kNr), w1 = _mm256_loadu_ps(packed + k * kNr + 8);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256 xv = _mm256_broadcast_ss(x + k * kMr + t);
      acc[t][0] = _mm256_fmadd_ps(xv, w0, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(xv, w1, acc[t][1]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    if (full) {
      _mm256_storeu_ps(y + t * ldy, acc[t][0]);
      _mm256_storeu_ps(y + t * ldy + 8, acc[t][1]);
    } else {
      _mm256_store_ps(buf[t], acc[t][0]);
      _mm256_store_ps(buf[t] + 8, acc[t][1]);
      for (int j = 0; j < n_valid; ++j) y[t * ldy + j] = buf[t][j];
    }
  }
}

void tile(const float* packed, int64_t kc, const float* x, int mt, float* y, int64_t ldy, int n_valid,
          bool accumulate) {
  switch (mt) {
    case 6: return tile_mr<6>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 5: return tile_mr<5>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 4: return tile_mr<4>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 3: return tile_mr<3>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 2: return tile_mr<2>(packed, kc, x, y, ldy, n_valid, accumulate);
    default: return tile_mr<1>(packed, kc, x, y, ldy, n_valid, accumulate);
  }
}

}  // namespace

const MatmulKernels& matmul_kernels_avx2() {
  static const MatmulKernels k{kNr, kMr, pack_panel, tile};
  return k;
}

}  // namespace qembed::detail
