// AVX2 inner loops of attention_tiled: the blocked kernel (a block of queries of one head shares every key/value
// tile it reads; vector exp) and the one-query-at-a-time kernel (head_dim > kAttentionBlockMaxHeadDim, and the
// benchmark's pre-blocking comparison).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/attention_kernels.hpp"
#include "kernels/avx2_common.hpp"

namespace qembed::detail {
namespace {

inline float dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= n; d += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), acc1);
  }
  float s = hsum256(_mm256_add_ps(acc0, acc1));
  for (; d < n; ++d) s += a[d] * b[d];
  return s;
}

}  // namespace

void attend_row_avx2(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys, int64_t hd,
                     float scale, float* out) {
  float scores[kAttentionKeyTile];
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  std::fill(out, out + hd, 0.0f);
  for (int64_t j0 = 0; j0 < n_keys; j0 += kAttentionKeyTile) {
    const int64_t nt = std::min(kAttentionKeyTile, n_keys - j0);
    float tile_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nt; ++j) {
      scores[j] = dot(q, k + (j0 + j) * kv_stride, hd) * scale;
      tile_max = std::max(tile_max, scores[j]);
    }
    const float m_new = std::max(m, tile_max);
    const float corr = std::exp(m - m_new);
    float tile_sum = 0.0f;
    for (int64_t j = 0; j < nt; ++j) {
      scores[j] = std::exp(scores[j] - m_new);
      tile_sum += scores[j];
    }
    l = l * corr + tile_sum;
    int64_t d = 0;
    const __m256 cv = _mm256_set1_ps(corr);
    for (; d + 8 <= hd; d += 8) {
      __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(out + d), cv);
      const float* vj = v + j0 * kv_stride + d;
      for (int64_t j = 0; j < nt; ++j, vj += kv_stride)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(scores[j]), _mm256_loadu_ps(vj), acc);
      _mm256_storeu_ps(out + d, acc);
    }
    for (; d < hd; ++d) {
      float acc = out[d] * corr;
      for (int64_t j = 0; j < nt; ++j) acc += scores[j] * v[(j0 + j) * kv_stride + d];
      out[d] = acc;
    }
    m = m_new;
  }
  const float inv = 1.0f / l;
  for (int64_t d = 0; d < hd; ++d) out[d] *= inv;
}

namespace {

// ---- Blocked kernel: up to kAttentionQueryBlock queries of one head against tiles of kTile keys. ----
// The AVX2 counterpart of attend_block_avx512: queries sit in the 8 lanes of a ymm (q transposed once per block,
// pre-scaled), so S^T = K Q^T takes one broadcast key element per FMA and the online softmax (max, exp, sum,
// rescale) is vertical, one lane per query. A tile's keys and values are copied to contiguous scratch first (rows
// of one head are n_head_kv * head_dim floats apart: 4 KiB on the 0.6B model, all in the same L1 sets).
// Register blocks (16 ymm registers): S^T as 4 keys x 16 queries (8 accumulators), O += P V as 4 query rows x
// 16 dims (8 accumulators); head_dim is padded to a multiple of 16 in the scratch.

constexpr int kTile = 32;  // keys per tile
constexpr int kMaxHd = static_cast<int>(kAttentionBlockMaxHeadDim);
constexpr float kNegBig = -1e30f;  // running max before any key: finite, so exp(m - m_new) = 0 without NaN

// e^x, exactly 0 below -87 (masked scores are -inf); otherwise as exp256_ps.
inline __m256 exp_z(__m256 x) {
  const __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
  return _mm256_and_ps(live, exp256_ps(x));
}

// Keeps a value in a register: without this GCC folds a load into every FMA that uses it, and the load ports, not
// the FMA units, become the limit.
inline void in_register(__m256& x) { __asm__("" : "+x"(x)); }

// NG: 8-query lane groups per block (1, 2 or 4); HDC: head_dim when fixed at compile time (a multiple of 16), else 0.
template <int NG, int HDC>
void attend_block_impl(const AttendBlock& b) {
  constexpr int NQ = 8 * NG;
  constexpr int NV = NG == 1 ? 1 : 2;  // lane groups per register block of S
  constexpr int JG = NG == 1 ? 8 : 4;  // keys per register block of S
  static_assert(kTile % JG == 0 && NG % NV == 0);
  const int64_t hd = HDC ? HDC : b.hd;
  const int64_t hdp = HDC ? HDC : (hd + 15) & ~int64_t{15};  // scratch row length
  const int64_t n_q = b.n_q;
  alignas(32) float qt[kMaxHd * NQ];    // qt[d * NQ + r] = scale * q_r[d]
  alignas(32) float kp[kTile * kMaxHd];  // tile keys, kp[j * hdp + d]
  alignas(32) float vp[kTile * kMaxHd];  // tile values, zero in [hd, hdp)
  alignas(32) float o[NQ * kMaxHd];      // unnormalised outputs, o[r * hdp + d]
  alignas(32) float pt[kTile * NQ];      // scores, then probabilities: pt[j * NQ + r]
  alignas(32) float corr[NQ], lsum[NQ];

  for (int64_t d = 0; d < hd; ++d) {
    float* row = qt + d * NQ;
    for (int64_t r = 0; r < n_q; ++r) row[r] = b.q[r * b.q_stride + d] * b.scale;
    for (int64_t r = n_q; r < NQ; ++r) row[r] = 0.0f;
  }
  std::fill(o, o + NQ * hdp, 0.0f);
  if (hdp > hd)
    for (int64_t j = 0; j < kTile; ++j) std::fill(vp + j * hdp + hd, vp + (j + 1) * hdp, 0.0f);

  // Position of each lane's query; padding lanes repeat the last query (finite scores, outputs never stored).
  alignas(32) int32_t pos[NQ];
  for (int64_t r = 0; r < NQ; ++r) pos[r] = static_cast<int32_t>(b.pos0 + std::min<int64_t>(r, n_q - 1));
  __m256i qpos[NG];
  __m256 m[NG], l[NG];
  for (int g = 0; g < NG; ++g) {
    qpos[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(pos + 8 * g));
    m[g] = _mm256_set1_ps(kNegBig);
    l[g] = _mm256_setzero_ps();
  }
  const int64_t n_keys = b.pos0 + n_q;  // keys seen by the last query; later tiles are fully masked
  const int64_t rows = (n_q + 3) & ~int64_t{3};
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());

  for (int64_t j0 = 0; j0 < n_keys; j0 += kTile) {
    const int64_t nt = std::min<int64_t>(kTile, n_keys - j0);
    const int64_t ntg = (nt + JG - 1) / JG * JG;  // keys computed: whole register blocks
    for (int64_t j = 0; j < nt; ++j) {
      std::memcpy(kp + j * hdp, b.k + (j0 + j) * b.kv_stride, static_cast<size_t>(hd) * sizeof(float));
      std::memcpy(vp + j * hdp, b.v + (j0 + j) * b.kv_stride, static_cast<size_t>(hd) * sizeof(float));
    }
    if (ntg > nt) {
      std::fill(kp + nt * hdp, kp + ntg * hdp, 0.0f);
      std::fill(vp + nt * hdp, vp + ntg * hdp, 0.0f);
    }
    const bool diagonal = j0 + ntg - 1 > b.pos0;  // some key is after some query: apply the causal mask

    // S^T for the tile: JG keys x NV lane groups at a time.
    __m256 mx[NG];
    for (int g = 0; g < NG; ++g) mx[g] = neg_inf;
    for (int g0 = 0; g0 < NG; g0 += NV) {
      for (int64_t jg = 0; jg < ntg; jg += JG) {
        __m256 acc[JG][NV];
        for (int j = 0; j < JG; ++j)
          for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_setzero_ps();
        const float* kb = kp + jg * hdp;
        const float* qb = qt + 8 * g0;
        for (int64_t d = 0; d < hd; ++d, qb += NQ) {
          __m256 qv[NV];
          for (int v = 0; v < NV; ++v) qv[v] = _mm256_load_ps(qb + 8 * v);
          for (int j = 0; j < JG; ++j) {
            __m256 kj = _mm256_broadcast_ss(kb + j * hdp + d);
            if constexpr (NV == 2) in_register(kj);
            for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_fmadd_ps(kj, qv[v], acc[j][v]);
          }
        }
        for (int j = 0; j < JG; ++j) {
          for (int v = 0; v < NV; ++v) {
            __m256 s = acc[j][v];
            if (diagonal) {
              const __m256i key = _mm256_set1_epi32(static_cast<int32_t>(j0 + jg + j));
              const __m256 future = _mm256_castsi256_ps(_mm256_cmpgt_epi32(key, qpos[g0 + v]));
              s = _mm256_blendv_ps(s, neg_inf, future);
            }
            mx[g0 + v] = _mm256_max_ps(mx[g0 + v], s);
            _mm256_store_ps(pt + (jg + j) * NQ + 8 * (g0 + v), s);
          }
        }
      }
    }

    // Online softmax, one lane per query.
    for (int g = 0; g < NG; ++g) {
      const __m256 m_new = _mm256_max_ps(m[g], mx[g]);
      const __m256 c = exp_z(_mm256_sub_ps(m[g], m_new));
      __m256 sum = _mm256_setzero_ps();
      for (int64_t j = 0; j < ntg; ++j) {
        float* pj = pt + j * NQ + 8 * g;
        const __m256 p = exp_z(_mm256_sub_ps(_mm256_load_ps(pj), m_new));
        _mm256_store_ps(pj, p);
        sum = _mm256_add_ps(sum, p);
      }
      l[g] = _mm256_fmadd_ps(l[g], c, sum);
      m[g] = m_new;
      _mm256_store_ps(corr + 8 * g, c);
    }

    // O = diag(corr) O + P V, 4 query rows x 16 dims of O in registers.
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
      for (int64_t d0 = 0; d0 < hdp; d0 += 16) {
        __m256 acc[4][2];
        for (int i = 0; i < 4; ++i) {
          const __m256 ci = _mm256_broadcast_ss(corr + r0 + i);
          for (int c = 0; c < 2; ++c) acc[i][c] = _mm256_mul_ps(_mm256_load_ps(o + (r0 + i) * hdp + d0 + 8 * c), ci);
        }
        const float* vj = vp + d0;
        const float* pj = pt + r0;
        for (int64_t j = 0; j < ntg; ++j, vj += hdp, pj += NQ) {
          __m256 v0 = _mm256_load_ps(vj), v1 = _mm256_load_ps(vj + 8);
          in_register(v0);
          in_register(v1);
          for (int i = 0; i < 4; ++i) {
            __m256 p = _mm256_broadcast_ss(pj + i);
            in_register(p);
            acc[i][0] = _mm256_fmadd_ps(p, v0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(p, v1, acc[i][1]);
          }
        }
        for (int i = 0; i < 4; ++i)
          for (int c = 0; c < 2; ++c) _mm256_store_ps(o + (r0 + i) * hdp + d0 + 8 * c, acc[i][c]);
      }
    }
  }

  for (int g = 0; g < NG; ++g) _mm256_store_ps(lsum + 8 * g, l[g]);
  for (int64_t r = 0; r < n_q; ++r) {
    const float inv_s = 1.0f / lsum[r];
    const __m256 inv = _mm256_set1_ps(inv_s);
    const float* src = o + r * hdp;
    float* dst = b.out + r * b.out_stride;
    int64_t d = 0;
    for (; d + 8 <= hd; d += 8) _mm256_storeu_ps(dst + d, _mm256_mul_ps(_mm256_load_ps(src + d), inv));
    for (; d < hd; ++d) dst[d] = src[d] * inv_s;
  }
}

template <int NG>
void attend_block_ng(const AttendBlock& b) {
  switch (b.hd) {
    case 64: return attend_block_impl<NG, 64>(b);
    case 128: return attend_block_impl<NG, 128>(b);
    case 256: return attend_block_impl<NG, 256>(b);
    default: return attend_block_impl<NG, 0>(b);
  }
}

}  // namespace

void attend_block_avx2(const AttendBlock& b) {
  if (b.n_q <= 8) return attend_block_ng<1>(b);
  if (b.n_q <= 16) return attend_block_ng<2>(b);
  attend_block_ng<4>(b);
}

}  // namespace qembed::detail
