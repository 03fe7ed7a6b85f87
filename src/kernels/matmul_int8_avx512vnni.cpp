// AVX-512 VNNI int8 kernels: activation quantization into tile-major records and a (up to 8 tokens x 16 rows)
// tile. Per sub-block and token: the integer accumulator starts at the zero-point correction, takes blk/4
// vpdpbusd (u8 weight codes x s8 activation codes, 4 products per int32 lane), then one scale FMA (and one offset
// FMA for types with a min).
// 4-bit codes kept two per byte (Int8Weights::nibbles) are split once per 64-byte load, with a mask for the even
// slice and a shift and a mask for the odd one, and then shared by the tile's up to 8 tokens: two cheap ops against
// 16 vpdpbusd, for half the weight bytes streamed. Q4_K's k_scales are multiplied back per record (d * sc,
// -dmin * mn in f32, the products the reference dequantizer forms).
// GCC 12 flags _mm512_undefined_* inside its own intrinsics headers as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/avx512_common.hpp"
#include "kernels/matmul_int8_kernels.hpp"

namespace qembed::detail {
namespace {

constexpr int kT = kInt8TileTokens;

void quantize_tile(const float* x, int mt, int64_t n_in, int blk, int zero_point, uint8_t* records) {
  const int64_t rec_bytes = int8_act_record_bytes(blk);
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < n_in / blk; ++b) {
    uint8_t* rec = records + b * rec_bytes;
    if (mt < kT) std::memset(rec, 0, static_cast<size_t>(rec_bytes));
    auto* zsum = reinterpret_cast<int32_t*>(rec + int8_act_zsum_offset(blk));
    auto* d = reinterpret_cast<float*>(rec + int8_act_d_offset(blk));
    auto* dsum = reinterpret_cast<float*>(rec + int8_act_dsum_offset(blk));
    for (int t = 0; t < mt; ++t) {
      const float* xb = x + t * n_in + b * blk;
      const __m512 v0 = _mm512_loadu_ps(xb);
      const __m512 v1 = blk == 32 ? _mm512_loadu_ps(xb + 16) : _mm512_setzero_ps();
      const __m512 a = _mm512_max_ps(_mm512_and_ps(v0, abs_mask), _mm512_and_ps(v1, abs_mask));
      const float db = int8_scale(_mm512_reduce_max_ps(a)), id = int8_inverse(db);
      const __m512 vid = _mm512_set1_ps(id);
      // cvtps_epi32 rounds to nearest even (default MXCSR), like std::nearbyint in the scalar oracle.
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
      // Groups of 4 codes go to their (k/4, t) slots: int32 j of the packed codes lands at int32 j * kT + t.
      alignas(16) int32_t packed[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(packed), _mm512_cvtepi32_epi8(q0));
      __m512i sum = q0;
      if (blk == 32) {
        _mm_store_si128(reinterpret_cast<__m128i*>(packed + 4), _mm512_cvtepi32_epi8(q1));
        sum = _mm512_add_epi32(sum, q1);
      }
      auto* dst = reinterpret_cast<int32_t*>(rec) + t;
      for (int j = 0; j < blk / 4; ++j) dst[j * kT] = packed[j];
      const int32_t s = _mm512_reduce_add_epi32(sum);
      zsum[t] = -zero_point * s;
      d[t] = db;
      dsum[t] = db * static_cast<float>(s);
    }
  }
}

template <int MT, int BLK, bool kOffset, bool kNibbles, bool kKScales>
void tile_mt(const Int8Weights& w, int64_t g, const uint8_t* act, float* y, int64_t ldy, int n_valid) {
  constexpr int G = Int8Weights::kGroupRows;
  constexpr int64_t kActBytes = int8_act_record_bytes(BLK);
  constexpr int kCodeBytes = BLK * G / (kNibbles ? 2 : 1);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  __m512 facc[MT];
#pragma GCC unroll 8
  for (int t = 0; t < MT; ++t) facc[t] = _mm512_setzero_ps();
  const uint8_t* rec = w.record(g, 0);
  for (int64_t b = 0; b < w.n_blocks; ++b, rec += w.record_bytes, act += kActBytes) {
    const auto* zsum = reinterpret_cast<const int32_t*>(act + int8_act_zsum_offset(BLK));
    const auto* dx = reinterpret_cast<const float*>(act + int8_act_d_offset(BLK));
    const auto* dsum = reinterpret_cast<const float*>(act + int8_act_dsum_offset(BLK));
    __m512i acc[MT];
#pragma GCC unroll 8
    for (int t = 0; t < MT; ++t) acc[t] = _mm512_set1_epi32(zsum[t]);
    // Slice j of the codes (4 values of each of the 16 rows) against the tile's tokens.
    const auto dot_slice = [&](int j, __m512i wv) {
      const auto* xq = reinterpret_cast<const int32_t*>(act) + j * kT;
#pragma GCC unroll 8
      for (int t = 0; t < MT; ++t) acc[t] = _mm512_dpbusd_epi32(acc[t], wv, _mm512_set1_epi32(xq[t]));
    };
    if constexpr (kNibbles) {
#pragma GCC unroll 4
      for (int p = 0; p < BLK / 8; ++p) {
        const __m512i both = _mm512_load_si512(rec + 64 * p);
        dot_slice(2 * p, _mm512_and_si512(both, low_nibbles));
        // A 16-bit shift: the mask drops the bits it brings in from the neighbouring byte.
        dot_slice(2 * p + 1, _mm512_and_si512(_mm512_srli_epi16(both, 4), low_nibbles));
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < BLK / 4; ++j) dot_slice(j, _mm512_load_si512(rec + 64 * j));
    }
    __m512 s, m = _mm512_setzero_ps();
    if constexpr (kKScales) {
      const float* dd = w.super_scales(g, b / Int8Weights::kSuperBlocks);
      const uint8_t* sub = rec + kCodeBytes;
      const auto widen = [](const uint8_t* bytes) {
        return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes))));
      };
      s = _mm512_mul_ps(_mm512_loadu_ps(dd), widen(sub));
      m = _mm512_mul_ps(_mm512_loadu_ps(dd + G), widen(sub + G));
    } else {
      s = _mm512_load_ps(rec + kCodeBytes);
      if constexpr (kOffset) m = _mm512_load_ps(rec + kCodeBytes + 64);
    }
#pragma GCC unroll 8
    for (int t = 0; t < MT; ++t) {
      facc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(s, _mm512_set1_ps(dx[t])), facc[t]);
    }
    if constexpr (kOffset) {
#pragma GCC unroll 8
      for (int t = 0; t < MT; ++t) facc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(dsum[t]), facc[t]);
    }
  }
  const __mmask16 mask = tail_mask(n_valid);
#pragma GCC unroll 8
  for (int t = 0; t < MT; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, facc[t]);
}

template <int BLK, bool kOffset, bool kNibbles = false, bool kKScales = false>
void tile_blk(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid) {
  switch (mt) {
    case 8:
      return tile_mt<8, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 7:
      return tile_mt<7, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 6:
      return tile_mt<6, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 5:
      return tile_mt<5, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 4:
      return tile_mt<4, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 3:
      return tile_mt<3, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    case 2:
      return tile_mt<2, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
    default:
      return tile_mt<1, BLK, kOffset, kNibbles, kKScales>(w, g, act, y, ldy, n_valid);
  }
}

// The (blk, offset, code form) combinations int8_layout_for produces.
void tile(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid) {
  if (w.blk == 16) {
    return w.has_offset ? tile_blk<16, true>(w, g, act, mt, y, ldy, n_valid)
                        : tile_blk<16, false>(w, g, act, mt, y, ldy, n_valid);
  }
  if (w.k_scales) return tile_blk<32, true, true, true>(w, g, act, mt, y, ldy, n_valid);  // Q4_K, two codes a byte
  if (w.nibbles) {
    return w.has_offset ? tile_blk<32, true, true>(w, g, act, mt, y, ldy, n_valid)
                        : tile_blk<32, false, true>(w, g, act, mt, y, ldy, n_valid);
  }
  return w.has_offset ? tile_blk<32, true>(w, g, act, mt, y, ldy, n_valid)
                      : tile_blk<32, false>(w, g, act, mt, y, ldy, n_valid);
}

}  // namespace

const Int8Kernels& int8_kernels_avx512vnni() {
  static const Int8Kernels k{quantize_tile, tile};
  return k;
}

}  // namespace qembed::detail
