// AVX2 int8 kernels over the same records as the VNNI ones (int8_weights.hpp, matmul_int8_kernels.hpp), for CPUs
// without vpdpbusd. One (j, token) step of vpdpbusd becomes vpmaddubsw (u8 x s8 -> pairs summed into s16, with
// saturation) then vpmaddwd against int16 ones (pairs of s16 -> the int32 lane of 4 codes, the VNNI operand
// layout). The sums stay exact:
//   codes u <= 63 (every type but Q8_0): a vpmaddubsw lane is at most 2 * u_max * 127 (16002 for 6-bit codes), so
//     kChunk = 32767 / (2 * u_max * 127) of them add in s16 without overflow before one vpmaddwd: 8 for nibbles
//     (the whole 32-value sub-block), 4 for 5-bit codes, 2 for Q6_K.
//   Q8_0 (u = q + 128 up to 255 would saturate): the signed code s = u ^ 0x80 = q, and
//     vpmaddubsw(|s|, sign(xq, s)) = the pair sums of q * xq with |q| <= 128, |xq| <= 127 (2 * 128 * 127 = 32512),
//     which is sum (u - 128) xq: the zero-point correction is already in, so zsum is not added.
// Activation codes are in [-127, 127] (round(x * 127 / amax) with |x| <= amax), never -128, so the sign flip is exact.
// The s16 sums use the saturating vpaddsw, which never saturates here (the bounds above) and which GCC cannot
// reassociate: with a wrapping add it rebuilt each chunk sum as a tree of all its products and spilled them.
// A pass computes 2 tokens x 16 rows (2 ymm of 8 rows each): per token and half an s16 chunk sum, an int32 sum and
// an f32 accumulator, 12 registers, plus 2 of weights, the broadcast and the ones.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2_common.hpp"
#include "kernels/matmul_int8_kernels.hpp"

namespace qembed::detail {
namespace {

constexpr int kT = kInt8TileTokens;
constexpr int kG = Int8Weights::kGroupRows;

void quantize_tile(const float* x, int mt, int64_t n_in, int blk, int zero_point, uint8_t* records) {
  const int64_t rec_bytes = int8_act_record_bytes(blk);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  // After the two packs, 128-bit lane l holds the 4-code groups 4i + l of k (i = 0..3); this puts them in k order.
  const __m256i group_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < n_in / blk; ++b) {
    uint8_t* rec = records + b * rec_bytes;
    if (mt < kT) std::memset(rec, 0, static_cast<size_t>(rec_bytes));
    auto* zsum = reinterpret_cast<int32_t*>(rec + int8_act_zsum_offset(blk));
    auto* d = reinterpret_cast<float*>(rec + int8_act_d_offset(blk));
    auto* dsum = reinterpret_cast<float*>(rec + int8_act_dsum_offset(blk));
    for (int t = 0; t < mt; ++t) {
      const float* xb = x + t * n_in + b * blk;
      __m256 v[4];
      for (int i = 0; i < 4; ++i) v[i] = 8 * i < blk ? _mm256_loadu_ps(xb + 8 * i) : _mm256_setzero_ps();
      const __m256 a = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                     _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
      const float db = int8_scale(hmax256(a)), id = int8_inverse(db);
      const __m256 vid = _mm256_set1_ps(id);
      // cvtps_epi32 rounds to nearest even (default MXCSR), like std::nearbyint in the scalar oracle.
      __m256i q[4];
      for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
      // Codes are in [-127, 127]: the saturating packs are exact.
      const __m256i bytes = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])), group_order);
      alignas(32) int32_t packed[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(packed), bytes);
      auto* dst = reinterpret_cast<int32_t*>(rec) + t;
      for (int j = 0; j < blk / 4; ++j) dst[j * kT] = packed[j];
      const int32_t s = hsum256_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
      zsum[t] = -zero_point * s;
      d[t] = db;
      dsum[t] = db * static_cast<float>(s);
    }
  }
}

// Lanes [0, n) set, n clamped to [0, 8].
inline __m256i lane_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// Tokens [t0, t0 + MT) of the tile x the 16 rows of group g. kSigned: Q8_0 (sign trick); otherwise kChunk
// vpmaddubsw results are summed in s16 per vpmaddwd.
// `act` points at the tile's records plus 4 * t0 bytes (the first token's slots), y at the first token's row.
// kNibbles: 4-bit codes two per byte (int8_weights.hpp): slice j is the low (j even) or high (j odd) nibbles of
// the 64 bytes at 64 * (j / 2); the unrolled loop loads each pair once and masks or shifts it.
// kKScales (Q4_K with nibbles): s and m are rebuilt per record from its 8-bit sc/mn and the super-block's d/-dmin.
template <int MT, int BLK, bool kOffset, bool kSigned, int kChunk, bool kNibbles = false, bool kKScales = false>
void tile_mt(const Int8Weights& w, int64_t g, const uint8_t* act, float* y, int64_t ldy, int n_valid) {
  static_assert((BLK / 4) % kChunk == 0);
  constexpr int64_t kActBytes = int8_act_record_bytes(BLK);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
  constexpr int kCodeBytes = BLK * kG / (kNibbles ? 2 : 1);
  __m256 facc[MT][2];
#pragma GCC unroll 4
  for (int t = 0; t < MT; ++t) facc[t][0] = facc[t][1] = _mm256_setzero_ps();
  const uint8_t* rec = w.record(g, 0);
  for (int64_t b = 0; b < w.n_blocks; ++b, rec += w.record_bytes, act += kActBytes) {
    const auto* xq = reinterpret_cast<const int32_t*>(act);
    const auto* zsum = reinterpret_cast<const int32_t*>(act + int8_act_zsum_offset(BLK));
    const auto* dx = reinterpret_cast<const float*>(act + int8_act_d_offset(BLK));
    const auto* dsum = reinterpret_cast<const float*>(act + int8_act_dsum_offset(BLK));
    __m256i acc[MT][2];
#pragma GCC unroll 4
    for (int t = 0; t < MT; ++t) acc[t][0] = acc[t][1] = kSigned ? _mm256_setzero_si256() : _mm256_set1_epi32(zsum[t]);
    for (int c = 0; c < BLK / 4; c += kChunk) {
      // The first product of a chunk starts its s16 sums (so a chunk of 1, Q8_0's, adds nothing in s16).
      __m256i sum16[MT][2];
#pragma GCC unroll 8
      for (int j = c; j < c + kChunk; ++j) {
        const int at = kNibbles ? 64 * (j / 2) : 64 * j;
        __m256i wv0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(rec + at));
        __m256i wv1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(rec + at + 32));
        if constexpr (kNibbles) {
          if (j % 2 == 1) {
            wv0 = _mm256_srli_epi16(wv0, 4);  // a 16-bit shift: the mask drops the bits of the neighbouring byte
            wv1 = _mm256_srli_epi16(wv1, 4);
          }
          wv0 = _mm256_and_si256(wv0, low_nibbles);
          wv1 = _mm256_and_si256(wv1, low_nibbles);
        }
        __m256i wabs0 = wv0, wabs1 = wv1;
        if constexpr (kSigned) {
          wv0 = _mm256_xor_si256(wv0, flip);  // q = u - 128 as int8
          wv1 = _mm256_xor_si256(wv1, flip);
          wabs0 = _mm256_abs_epi8(wv0);  // |q| as u8 (128 for q = -128)
          wabs1 = _mm256_abs_epi8(wv1);
        }
        for (int t = 0; t < MT; ++t) {
          const __m256i xv = _mm256_set1_epi32(xq[j * kT + t]);
          const __m256i p0 =
              kSigned ? _mm256_maddubs_epi16(wabs0, _mm256_sign_epi8(xv, wv0)) : _mm256_maddubs_epi16(wv0, xv);
          const __m256i p1 =
              kSigned ? _mm256_maddubs_epi16(wabs1, _mm256_sign_epi8(xv, wv1)) : _mm256_maddubs_epi16(wv1, xv);
          sum16[t][0] = j == c ? p0 : _mm256_adds_epi16(sum16[t][0], p0);
          sum16[t][1] = j == c ? p1 : _mm256_adds_epi16(sum16[t][1], p1);
        }
      }
      for (int t = 0; t < MT; ++t)
        for (int h = 0; h < 2; ++h) acc[t][h] = _mm256_add_epi32(acc[t][h], _mm256_madd_epi16(sum16[t][h], ones));
    }
    __m256 sv[2], mv[2];
    if constexpr (kKScales) {
      // The same f32 products d * sc and (-dmin) * mn as the reference dequantizer forms.
      const float* dd = w.super_scales(g, b / Int8Weights::kSuperBlocks);
      const uint8_t* sub = rec + kCodeBytes;
      for (int h = 0; h < 2; ++h) {
        const auto* sc = reinterpret_cast<const __m128i*>(sub + 8 * h);
        const auto* mn = reinterpret_cast<const __m128i*>(sub + kG + 8 * h);
        sv[h] = _mm256_mul_ps(_mm256_load_ps(dd + 8 * h), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(sc))));
        mv[h] = _mm256_mul_ps(_mm256_load_ps(dd + kG + 8 * h),
                              _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(mn))));
      }
    } else {
      const auto* s = reinterpret_cast<const float*>(rec + kCodeBytes);
      for (int h = 0; h < 2; ++h) {
        sv[h] = _mm256_load_ps(s + 8 * h);
        if constexpr (kOffset) mv[h] = _mm256_load_ps(s + kG + 8 * h);
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < MT; ++t) {
      const __m256 vdx = _mm256_set1_ps(dx[t]);
      for (int h = 0; h < 2; ++h) {
        facc[t][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t][h]), _mm256_mul_ps(sv[h], vdx), facc[t][h]);
      }
    }
    if constexpr (kOffset) {
#pragma GCC unroll 4
      for (int t = 0; t < MT; ++t) {
        const __m256 vds = _mm256_set1_ps(dsum[t]);
        for (int h = 0; h < 2; ++h) facc[t][h] = _mm256_fmadd_ps(mv[h], vds, facc[t][h]);
      }
    }
  }
  float* yt = y;
  if (n_valid == kG) {
    for (int t = 0; t < MT; ++t) {
      _mm256_storeu_ps(yt + t * ldy, facc[t][0]);
      _mm256_storeu_ps(yt + t * ldy + 8, facc[t][1]);
    }
    return;
  }
  const __m256i m0 = lane_mask(n_valid), m1 = lane_mask(n_valid - 8);
  for (int t = 0; t < MT; ++t) {
    _mm256_maskstore_ps(yt + t * ldy, m0, facc[t][0]);
    _mm256_maskstore_ps(yt + t * ldy + 8, m1, facc[t][1]);
  }
}

template <int BLK, bool kOffset, bool kSigned, int kChunk, bool kNibbles = false, bool kKScales = false>
void tile_kind(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid) {
  int t = 0;
  for (; t + 2 <= mt; t += 2)
    tile_mt<2, BLK, kOffset, kSigned, kChunk, kNibbles, kKScales>(w, g, act + 4 * t, y + t * ldy, ldy, n_valid);
  if (t < mt)
    tile_mt<1, BLK, kOffset, kSigned, kChunk, kNibbles, kKScales>(w, g, act + 4 * t, y + t * ldy, ldy, n_valid);
}

// The (blk, offset, code range) combinations int8_layout_for produces.
void tile(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid) {
  if (w.blk == 16) return tile_kind<16, false, false, 2>(w, g, act, mt, y, ldy, n_valid);     // Q6_K, 6-bit codes
  if (w.max_code > 63) return tile_kind<32, false, true, 1>(w, g, act, mt, y, ldy, n_valid);  // Q8_0
  if (w.max_code > 15) {                                                                      // 5-bit codes
    return w.has_offset ? tile_kind<32, true, false, 4>(w, g, act, mt, y, ldy, n_valid)
                        : tile_kind<32, false, false, 4>(w, g, act, mt, y, ldy, n_valid);
  }
  if (w.k_scales) return tile_kind<32, true, false, 8, true, true>(w, g, act, mt, y, ldy, n_valid);  // Q4_K
  if (w.nibbles) {  // 4-bit codes two per byte
    return w.has_offset ? tile_kind<32, true, false, 8, true>(w, g, act, mt, y, ldy, n_valid)
                        : tile_kind<32, false, false, 8, true>(w, g, act, mt, y, ldy, n_valid);
  }
  return w.has_offset ? tile_kind<32, true, false, 8>(w, g, act, mt, y, ldy, n_valid)  // 4-bit codes, one per byte
                      : tile_kind<32, false, false, 8>(w, g, act, mt, y, ldy, n_valid);
}

}  // namespace

const Int8Kernels& int8_kernels_avx2() {
  static const Int8Kernels k{quantize_tile, tile};
  return k;
}

}  // namespace qembed::detail
