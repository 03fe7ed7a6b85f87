// AVX-512 matmul kernels: SIMD row decoders (F16, BF16, Q8_0; F32 is read in place), a 16x16 register transpose
// into the k-major panel, and a (12 tokens x 32 outputs) FMA micro-kernel with 24 zmm accumulators.
// GCC 12 flags _mm512_undefined_ps() inside its own intrinsics headers as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/avx512_common.hpp"
#include "kernels/matmul_kernels.hpp"

namespace qembed::detail {
namespace {

constexpr int kNr = 32;
constexpr int kMr = 12;

void decode_f16(const uint8_t* src, int64_t kc, float* dst) {
  const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
  for (int64_t k = 0; k < kc; k += 16) {
    const __mmask16 m = tail_mask(kc - k);
    const __m256i h = _mm256_maskz_loadu_epi16(m, s + k);
    _mm512_mask_storeu_ps(dst + k, m, _mm512_cvtph_ps(h));
  }
}

void decode_bf16(const uint8_t* src, int64_t kc, float* dst) {
  const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
  for (int64_t k = 0; k < kc; k += 16) {
    const __mmask16 m = tail_mask(kc - k);
    const __m512i v = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s + k)), 16);
    _mm512_mask_storeu_ps(dst + k, m, _mm512_castsi512_ps(v));
  }
}

// Q8_0 block: f16 scale d, then 32 int8 values q; value = d * q.
void decode_q8_0(const uint8_t* src, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; k += 32, src += 34) {
    uint16_t dh;
    std::memcpy(&dh, src, 2);
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 18));
    _mm512_storeu_ps(dst + k, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0))));
    _mm512_storeu_ps(dst + k + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1))));
  }
}

inline __m512 f16_scale(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm512_set1_ps(_cvtsh_ss(h));
}
inline __m512i load_u8x16(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Q4_0 block (18 bytes): value j < 16 = ((qs[j] & 15) - 8) * d, value j + 16 = ((qs[j] >> 4) - 8) * d.
void decode_q4_0(const uint8_t* src, int64_t kc, float* dst) {
  const __m512i low4 = _mm512_set1_epi32(15), eight = _mm512_set1_epi32(8);
  for (int64_t k = 0; k < kc; k += 32, src += 18) {
    const __m512 d = f16_scale(src);
    const __m512i q = load_u8x16(src + 2);
    const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(q, low4), eight);
    const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight);
    _mm512_storeu_ps(dst + k, _mm512_mul_ps(d, _mm512_cvtepi32_ps(lo)));
    _mm512_storeu_ps(dst + k + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(hi)));
  }
}

// Q4_K super-block (144 bytes): d, dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles; chunk c of 32 bytes
// holds sub-block 2c (low nibbles) and 2c + 1 (high nibbles); value = d * sc * q - dmin * m.
// Q5_K (176 bytes) adds qh[32] before qs: the fifth bit of byte l of chunk c is bit 2c (low) / 2c + 1 (high) of
// qh[l].
template <bool kFiveBit>
void decode_qk_4or5(const uint8_t* src, int64_t kc, float* dst) {
  constexpr int block_bytes = kFiveBit ? 176 : 144;
  const __m512i low4 = _mm512_set1_epi32(15), one = _mm512_set1_epi32(1);
  for (int64_t k = 0; k < kc; k += 256, src += block_bytes, dst += 256) {
    uint16_t dh, mh;
    std::memcpy(&dh, src, 2);
    std::memcpy(&mh, src + 2, 2);
    const float d = _cvtsh_ss(dh), dmin = _cvtsh_ss(mh);
    const uint8_t* scales = src + 4;
    const uint8_t* qh = src + 16;
    const uint8_t* qs = src + (kFiveBit ? 48 : 16);
    for (int c = 0; c < 4; ++c) {
      int sc0, m0, sc1, m1;
      const int j = 2 * c;
      // Same 6-bit unpacking as k_scale_min in quant_block_layouts.hpp.
      if (j < 4) {
        sc0 = scales[j] & 63, m0 = scales[j + 4] & 63;
        sc1 = scales[j + 1] & 63, m1 = scales[j + 5] & 63;
      } else {
        sc0 = (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4), m0 = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        sc1 = (scales[j + 5] & 15) | ((scales[j - 3] >> 6) << 4), m1 = (scales[j + 5] >> 4) | ((scales[j + 1] >> 6) << 4);
      }
      const __m512 a0 = _mm512_set1_ps(d * static_cast<float>(sc0)), b0 = _mm512_set1_ps(dmin * static_cast<float>(m0));
      const __m512 a1 = _mm512_set1_ps(d * static_cast<float>(sc1)), b1 = _mm512_set1_ps(dmin * static_cast<float>(m1));
      for (int h = 0; h < 2; ++h) {
        const __m512i q = load_u8x16(qs + 32 * c + 16 * h);
        __m512i qlo = _mm512_and_si512(q, low4), qhi = _mm512_srli_epi32(q, 4);
        if constexpr (kFiveBit) {
          const __m512i bits = load_u8x16(qh + 16 * h);
          qlo = _mm512_or_si512(qlo, _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 2 * c), one), 4));
          qhi = _mm512_or_si512(qhi, _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 2 * c + 1), one), 4));
        }
        const __m512 lo = _mm512_cvtepi32_ps(qlo);
        const __m512 hi = _mm512_cvtepi32_ps(qhi);
        _mm512_storeu_ps(dst + 64 * c + 16 * h, _mm512_sub_ps(_mm512_mul_ps(a0, lo), b0));
        _mm512_storeu_ps(dst + 64 * c + 32 + 16 * h, _mm512_sub_ps(_mm512_mul_ps(a1, hi), b1));
      }
    }
  }
}

// Q6_K super-block (210 bytes): ql[128], qh[64], int8 scales[16], d. Per half n (128 values): value 32*j + l
// (j < 4, l < 32) takes 4 bits from ql (byte l or l + 32, low or high nibble) and 2 bits from qh[l] (bits 2j),
// minus 32, times d * scales[8n + 2j + l / 16].
void decode_q6_k(const uint8_t* src, int64_t kc, float* dst) {
  const __m512i low4 = _mm512_set1_epi32(15), two = _mm512_set1_epi32(3), bias = _mm512_set1_epi32(32);
  for (int64_t k = 0; k < kc; k += 256, src += 210, dst += 256) {
    uint16_t dh;
    std::memcpy(&dh, src + 208, 2);
    const float d = _cvtsh_ss(dh);
    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = src + 64 * n;
      const uint8_t* qh = src + 128 + 32 * n;
      for (int l0 = 0; l0 < 32; l0 += 16) {
        const __m512i a = load_u8x16(ql + l0), b = load_u8x16(ql + l0 + 32), h = load_u8x16(qh + l0);
        const __m512i q[4] = {
            _mm512_or_si512(_mm512_and_si512(a, low4), _mm512_slli_epi32(_mm512_and_si512(h, two), 4)),
            _mm512_or_si512(_mm512_and_si512(b, low4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 2), two), 4)),
            _mm512_or_si512(_mm512_srli_epi32(a, 4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 4), two), 4)),
            _mm512_or_si512(_mm512_srli_epi32(b, 4), _mm512_slli_epi32(_mm512_srli_epi32(h, 6), 4))};
        for (int j = 0; j < 4; ++j) {
          const __m512 s = _mm512_set1_ps(d * static_cast<float>(sc[8 * n + 2 * j + l0 / 16]));
          const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(q[j], bias));
          _mm512_storeu_ps(dst + 128 * n + 32 * j + l0, _mm512_mul_ps(s, v));
        }
      }
    }
  }
}

// Returns a pointer to the f32 values [k0, k0 + kc) of row o: in place for F32, else decoded into dst.
const float* row_values(const WeightMatrix& w, int64_t o, int64_t k0, int64_t kc, float* dst) {
  const uint8_t* row = w.row(o);
  switch (w.type) {
    case GgmlType::F32: return reinterpret_cast<const float*>(row) + k0;
    case GgmlType::F16: decode_f16(row + k0 * 2, kc, dst); return dst;
    case GgmlType::BF16: decode_bf16(row + k0 * 2, kc, dst); return dst;
    case GgmlType::Q8_0: decode_q8_0(row + (k0 / 32) * 34, kc, dst); return dst;
    case GgmlType::Q4_0: decode_q4_0(row + (k0 / 32) * 18, kc, dst); return dst;
    case GgmlType::Q4_K: decode_qk_4or5<false>(row + (k0 / 256) * 144, kc, dst); return dst;
    case GgmlType::Q5_K: decode_qk_4or5<true>(row + (k0 / 256) * 176, kc, dst); return dst;
    case GgmlType::Q6_K: decode_q6_k(row + (k0 / 256) * 210, kc, dst); return dst;
    default: decode_row_ref(w, o, k0, kc, dst); return dst;
  }
}

// out[j*ld + i] = in[i][kb + j] for i < 16, j < kv (kv <= 16): one 16x16 block of the transpose.
inline void transpose16(const float* const* in, int64_t kb, int kv, float* out, int64_t ld) {
  const __mmask16 m = tail_mask(kv);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_maskz_loadu_ps(m, in[i] + kb);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + c]: in each 128-bit lane L, rows 4i..4i+3 of column 4L + c.
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
    const __m512 w0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd), w1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    t[c] = _mm512_shuffle_f32x4(v0, v1, 0x88);
    t[8 + c] = _mm512_shuffle_f32x4(v0, v1, 0xdd);
    t[4 + c] = _mm512_shuffle_f32x4(w0, w1, 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xdd);
  }
  for (int j = 0; j < kv; ++j) _mm512_storeu_ps(out + j * ld, t[j]);
}

void pack_panel(const WeightMatrix& w, int64_t o0, int rows, int64_t k0, int64_t kc, float* packed, float* scratch) {
  const float* src[kNr];
  float* zeros = scratch + kNr * kc;
  std::memset(zeros, 0, static_cast<size_t>(kc) * sizeof(float));
  for (int r = 0; r < kNr; ++r) src[r] = r < rows ? row_values(w, o0 + r, k0, kc, scratch + r * kc) : zeros;
  for (int64_t kb = 0; kb < kc; kb += 16) {
    const int kv = static_cast<int>(kc - kb < 16 ? kc - kb : 16);
    transpose16(src, kb, kv, packed + kb * kNr, kNr);
    transpose16(src + 16, kb, kv, packed + kb * kNr + 16, kNr);
  }
}

template <int MR>
void tile_mr(const float* packed, int64_t kc, const float* x, float* y, int64_t ldy, int n_valid,
             bool accumulate) {
  const __mmask16 m0 = tail_mask(n_valid), m1 = tail_mask(n_valid - 16 > 0 ? n_valid - 16 : 0);
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int t = 0; t < MR; ++t) {
    if (accumulate) {
      acc[t][0] = _mm512_maskz_loadu_ps(m0, y + t * ldy);
      acc[t][1] = _mm512_maskz_loadu_ps(m1, y + t * ldy + 16);
    } else {
      acc[t][0] = _mm512_setzero_ps();
      acc[t][1] = _mm512_setzero_ps();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 w0 = _mm512_loadu_ps(packed + k * kNr), w1 = _mm512_loadu_ps(packed + k * kNr + 16);
#pragma GCC unroll 16
    for (int t = 0; t < MR; ++t) {
      const __m512 xv = _mm512_set1_ps(x[k * kMr + t]);
      acc[t][0] = _mm512_fmadd_ps(xv, w0, acc[t][0]);
      acc[t][1] = _mm512_fmadd_ps(xv, w1, acc[t][1]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < MR; ++t) {
    _mm512_mask_storeu_ps(y + t * ldy, m0, acc[t][0]);
    _mm512_mask_storeu_ps(y + t * ldy + 16, m1, acc[t][1]);
  }
}

void tile(const float* packed, int64_t kc, const float* x, int mt, float* y, int64_t ldy, int n_valid,
          bool accumulate) {
  switch (mt) {
    case 12: return tile_mr<12>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 11: return tile_mr<11>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 10: return tile_mr<10>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 9: return tile_mr<9>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 8: return tile_mr<8>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 7: return tile_mr<7>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 6: return tile_mr<6>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 5: return tile_mr<5>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 4: return tile_mr<4>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 3: return tile_mr<3>(packed, kc, x, y, ldy, n_valid, accumulate);
    case 2: return tile_mr<2>(packed, kc, x, y, ldy, n_valid, accumulate);
    default: return tile_mr<1>(packed, kc, x, y, ldy, n_valid, accumulate);
  }
}

}  // namespace

const MatmulKernels& matmul_kernels_avx512() {
  static const MatmulKernels k{kNr, kMr, pack_panel, tile};
  return k;
}

}  // namespace qembed::detail
