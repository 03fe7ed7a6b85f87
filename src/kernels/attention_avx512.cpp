// AVX-512 inner loop of attention_tiled: SIMD dot products, a vectorized exp over each key tile's scores and
// vectorized accumulation of the weighted values.
// GCC 12 flags _mm512_undefined_ps() inside its own intrinsics headers as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/attention_kernels.hpp"
#include "kernels/avx512_common.hpp"

namespace qembed::detail {
namespace {

inline float dot(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 32 <= n; d += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d), _mm512_loadu_ps(b + d), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d + 16), _mm512_loadu_ps(b + d + 16), acc1);
  }
  for (; d < n; d += 16) {
    const __mmask16 m = tail_mask(n - d);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + d), _mm512_maskz_loadu_ps(m, b + d), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// head_dim = 16 * NC: q and the output accumulator live in registers; scores of 4 keys are computed at a time
// (independent FMA chains) and values are accumulated key by key into NC independent accumulators.
template <int NC>
void attend_row_fixed(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys,
                      float scale, float* out) {
  alignas(64) float scores[kAttentionKeyTile];
  __m512 qv[NC], acc[NC];
  for (int c = 0; c < NC; ++c) {
    qv[c] = _mm512_loadu_ps(q + 16 * c);
    acc[c] = _mm512_setzero_ps();
  }
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  for (int64_t j0 = 0; j0 < n_keys; j0 += kAttentionKeyTile) {
    const int64_t nt = std::min(kAttentionKeyTile, n_keys - j0);
    int64_t j = 0;
    for (; j + 4 <= nt; j += 4) {
      const float* kj = k + (j0 + j) * kv_stride;
      __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
      for (int c = 0; c < NC; ++c) {
        s0 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), s0);
        s1 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + kv_stride + 16 * c), s1);
        s2 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 2 * kv_stride + 16 * c), s2);
        s3 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 3 * kv_stride + 16 * c), s3);
      }
      scores[j] = _mm512_reduce_add_ps(s0) * scale;
      scores[j + 1] = _mm512_reduce_add_ps(s1) * scale;
      scores[j + 2] = _mm512_reduce_add_ps(s2) * scale;
      scores[j + 3] = _mm512_reduce_add_ps(s3) * scale;
    }
    for (; j < nt; ++j) {
      const float* kj = k + (j0 + j) * kv_stride;
      __m512 s0 = _mm512_setzero_ps();
      for (int c = 0; c < NC; ++c) s0 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), s0);
      scores[j] = _mm512_reduce_add_ps(s0) * scale;
    }
    __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (j = 0; j < nt; j += 16) mx = _mm512_mask_max_ps(mx, tail_mask(nt - j), mx, _mm512_load_ps(scores + j));
    const float m_new = std::max(m, _mm512_reduce_max_ps(mx));
    const float corr = m == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(m - m_new);
    const __m512 mv = _mm512_set1_ps(m_new);
    __m512 lsum = _mm512_setzero_ps();
    for (j = 0; j < nt; j += 16) {
      const __mmask16 msk = tail_mask(nt - j);
      const __m512 p = _mm512_maskz_mov_ps(msk, exp_ps(_mm512_sub_ps(_mm512_load_ps(scores + j), mv)));
      _mm512_store_ps(scores + j, p);
      lsum = _mm512_add_ps(lsum, p);
    }
    l = l * corr + _mm512_reduce_add_ps(lsum);
    const __m512 cv = _mm512_set1_ps(corr);
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_mul_ps(acc[c], cv);
    const float* vj = v + j0 * kv_stride;
    for (j = 0; j < nt; ++j, vj += kv_stride) {
      const __m512 p = _mm512_set1_ps(scores[j]);
      for (int c = 0; c < NC; ++c) acc[c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16 * c), acc[c]);
    }
    m = m_new;
  }
  const __m512 inv = _mm512_set1_ps(1.0f / l);
  for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(acc[c], inv));
}

}  // namespace

void attend_row_avx512(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys, int64_t hd,
                       float scale, float* out) {
  switch (hd) {
    case 64: return attend_row_fixed<4>(q, k, v, kv_stride, n_keys, scale, out);
    case 128: return attend_row_fixed<8>(q, k, v, kv_stride, n_keys, scale, out);
    case 256: return attend_row_fixed<16>(q, k, v, kv_stride, n_keys, scale, out);
    default: break;
  }
  alignas(64) float scores[kAttentionKeyTile];
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
    const float corr = m == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(m - m_new);
    const __m512 mv = _mm512_set1_ps(m_new);
    __m512 lsum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nt; j += 16) {
      const __mmask16 msk = tail_mask(nt - j);
      const __m512 p = _mm512_maskz_mov_ps(msk, exp_ps(_mm512_sub_ps(_mm512_load_ps(scores + j), mv)));
      _mm512_store_ps(scores + j, p);
      lsum = _mm512_add_ps(lsum, p);
    }
    l = l * corr + _mm512_reduce_add_ps(lsum);
    const __m512 cv = _mm512_set1_ps(corr);
    for (int64_t d = 0; d < hd; d += 16) {
      const __mmask16 md = tail_mask(hd - d);
      __m512 acc = _mm512_mul_ps(_mm512_maskz_loadu_ps(md, out + d), cv);
      const float* vj = v + j0 * kv_stride + d;
      for (int64_t j = 0; j < nt; ++j, vj += kv_stride)
        acc = _mm512_fmadd_ps(_mm512_set1_ps(scores[j]), _mm512_maskz_loadu_ps(md, vj), acc);
      _mm512_mask_storeu_ps(out + d, md, acc);
    }
    m = m_new;
  }
  const __m512 inv = _mm512_set1_ps(1.0f / l);
  for (int64_t d = 0; d < hd; d += 16) {
    const __mmask16 md = tail_mask(hd - d);
    _mm512_mask_storeu_ps(out + d, md, _mm512_mul_ps(_mm512_maskz_loadu_ps(md, out + d), inv));
  }
}

namespace {

// ---- Blocked kernel: kAttentionQueryBlock queries of one head against tiles of kTile keys. ----
// Queries sit in SIMD lanes (q transposed once per block, pre-scaled), so S^T = K Q^T is computed with one broadcast
// key element per FMA and the online softmax (max, exp, sum, rescale) is purely vertical, one lane per query.
// Keys and values of a tile are first copied to contiguous scratch: rows of one head are n_head_kv * head_dim floats
// apart (4 KiB for the 0.6B model), which would make every row of a tile fall into the same L1 sets.
// O += P V then runs as a register-blocked GEMM (4 query rows x 64 dims) over the tile with P broadcast from scratch.

constexpr int kTile = 32;             // keys per tile
constexpr int kMaxHd = static_cast<int>(kAttentionBlockMaxHeadDim);
constexpr float kNegBig = -1e30f;     // running max before any key: finite, so exp(m - m_new) = 0 without NaN

// e^x, exactly 0 below -87 (masked scores are -inf); otherwise as exp_ps.
inline __m512 exp_ps_z(__m512 x) {
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
  return _mm512_maskz_mov_ps(live, exp_ps(x));
}

// Keeps a value in a register: without this GCC folds a load into every FMA that uses it, and the load ports, not
// the FMA units, become the limit.
inline void in_register(__m512& x) { __asm__("" : "+v"(x)); }

// NV: 16-query lane groups per block (1 or 2); HDC: head_dim when fixed at compile time (a multiple of 64), else 0.
template <int NV, int HDC>
void attend_block_impl(const AttendBlock& b) {
  constexpr int NQ = 16 * NV;
  constexpr int JG = NV == 2 ? 8 : 16;  // keys per register block of S (2 * 8 or 1 * 16 accumulators)
  static_assert(kTile % JG == 0);
  const int64_t hd = HDC ? HDC : b.hd;
  const int64_t n_q = b.n_q;
  alignas(64) float qt[kMaxHd * NQ];    // qt[d * NQ + r] = scale * q_r[d]
  alignas(64) float kp[kTile * kMaxHd];  // tile keys, kp[j * hd + d]
  alignas(64) float vp[kTile * kMaxHd];  // tile values
  alignas(64) float o[NQ * kMaxHd];      // unnormalised outputs, o[r * hd + d]
  alignas(64) float pt[kTile * NQ];      // scores, then probabilities: pt[j * NQ + r]
  alignas(64) float corr[NQ], lsum[NQ];

  for (int64_t d = 0; d < hd; ++d) {
    float* row = qt + d * NQ;
    for (int64_t r = 0; r < n_q; ++r) row[r] = b.q[r * b.q_stride + d] * b.scale;
    for (int64_t r = n_q; r < NQ; ++r) row[r] = 0.0f;
  }
  std::fill(o, o + NQ * hd, 0.0f);

  // Position of each lane's query; padding lanes repeat the last query (finite scores, outputs never stored).
  alignas(64) int32_t pos[NQ];
  for (int64_t r = 0; r < NQ; ++r) pos[r] = static_cast<int32_t>(b.pos0 + std::min(r, n_q - 1));
  __m512i qpos[NV];
  __m512 m[NV], l[NV];
  for (int v = 0; v < NV; ++v) {
    qpos[v] = _mm512_load_si512(pos + 16 * v);
    m[v] = _mm512_set1_ps(kNegBig);
    l[v] = _mm512_setzero_ps();
  }
  const int64_t n_keys = b.pos0 + n_q;  // keys seen by the last query; later tiles are fully masked
  const int64_t rows = (n_q + 3) & ~int64_t{3};

  for (int64_t j0 = 0; j0 < n_keys; j0 += kTile) {
    const int64_t nt = std::min<int64_t>(kTile, n_keys - j0);
    const int64_t ntg = (nt + JG - 1) / JG * JG;  // keys computed: whole register blocks
    for (int64_t j = 0; j < nt; ++j) {
      std::memcpy(kp + j * hd, b.k + (j0 + j) * b.kv_stride, static_cast<size_t>(hd) * sizeof(float));
      std::memcpy(vp + j * hd, b.v + (j0 + j) * b.kv_stride, static_cast<size_t>(hd) * sizeof(float));
    }
    if (ntg > nt) {
      std::fill(kp + nt * hd, kp + ntg * hd, 0.0f);
      std::fill(vp + nt * hd, vp + ntg * hd, 0.0f);
    }
    const bool diagonal = j0 + ntg - 1 > b.pos0;  // some key is after some query: apply the causal mask

    // S^T for the tile, JG keys at a time.
    __m512 mx[NV];
    for (int v = 0; v < NV; ++v) mx[v] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t jg = 0; jg < ntg; jg += JG) {
      __m512 acc[JG][NV];
      for (int j = 0; j < JG; ++j)
        for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_setzero_ps();
      const float* kb = kp + jg * hd;
      for (int64_t d = 0; d < hd; ++d) {
        __m512 qv[NV];
        for (int v = 0; v < NV; ++v) qv[v] = _mm512_load_ps(qt + d * NQ + 16 * v);
        for (int j = 0; j < JG; ++j) {
          __m512 kj = _mm512_set1_ps(kb[j * hd + d]);
          if constexpr (NV == 2) in_register(kj);
          for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_fmadd_ps(kj, qv[v], acc[j][v]);
        }
      }
      for (int j = 0; j < JG; ++j) {
        for (int v = 0; v < NV; ++v) {
          __m512 s = acc[j][v];
          if (diagonal) {
            const __mmask16 future =
                _mm512_cmp_epi32_mask(qpos[v], _mm512_set1_epi32(static_cast<int32_t>(j0 + jg + j)), _MM_CMPINT_LT);
            s = _mm512_mask_mov_ps(s, future, _mm512_set1_ps(-std::numeric_limits<float>::infinity()));
          }
          mx[v] = _mm512_max_ps(mx[v], s);
          _mm512_store_ps(pt + (jg + j) * NQ + 16 * v, s);
        }
      }
    }

    // Online softmax, one lane per query.
    for (int v = 0; v < NV; ++v) {
      const __m512 m_new = _mm512_max_ps(m[v], mx[v]);
      const __m512 c = exp_ps_z(_mm512_sub_ps(m[v], m_new));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = 0; j < ntg; ++j) {
        float* pj = pt + j * NQ + 16 * v;
        const __m512 p = exp_ps_z(_mm512_sub_ps(_mm512_load_ps(pj), m_new));
        _mm512_store_ps(pj, p);
        sum = _mm512_add_ps(sum, p);
      }
      l[v] = _mm512_fmadd_ps(l[v], c, sum);
      m[v] = m_new;
      _mm512_store_ps(corr + 16 * v, c);
    }

    // O = diag(corr) O + P V, 4 query rows x 64 dims of O in registers.
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
      for (int64_t d0 = 0; d0 < hd; d0 += 64) {
        __mmask16 dm[4];
        for (int c = 0; c < 4; ++c) dm[c] = tail_mask(std::max<int64_t>(0, hd - d0 - 16 * c));
        __m512 acc[4][4];
        for (int i = 0; i < 4; ++i) {
          const __m512 ci = _mm512_set1_ps(corr[r0 + i]);
          for (int c = 0; c < 4; ++c) {
            const float* src = o + (r0 + i) * hd + d0 + 16 * c;
            acc[i][c] = _mm512_mul_ps(HDC ? _mm512_load_ps(src) : _mm512_maskz_loadu_ps(dm[c], src), ci);
          }
        }
        const float* vj = vp + d0;
        const float* pj = pt + r0;
        for (int64_t j = 0; j < ntg; ++j, vj += hd, pj += NQ) {
          __m512 vv[4];
          for (int c = 0; c < 4; ++c) {
            vv[c] = HDC ? _mm512_load_ps(vj + 16 * c) : _mm512_maskz_loadu_ps(dm[c], vj + 16 * c);
            in_register(vv[c]);
          }
          for (int i = 0; i < 4; ++i) {
            __m512 p = _mm512_set1_ps(pj[i]);
            in_register(p);
            for (int c = 0; c < 4; ++c) acc[i][c] = _mm512_fmadd_ps(p, vv[c], acc[i][c]);
          }
        }
        for (int i = 0; i < 4; ++i)
          for (int c = 0; c < 4; ++c) {
            float* dst = o + (r0 + i) * hd + d0 + 16 * c;
            if (HDC) _mm512_store_ps(dst, acc[i][c]);
            else _mm512_mask_storeu_ps(dst, dm[c], acc[i][c]);
          }
      }
    }
  }

  for (int v = 0; v < NV; ++v) _mm512_store_ps(lsum + 16 * v, l[v]);
  for (int64_t r = 0; r < n_q; ++r) {
    const __m512 inv = _mm512_set1_ps(1.0f / lsum[r]);
    const float* src = o + r * hd;
    float* dst = b.out + r * b.out_stride;
    for (int64_t d = 0; d < hd; d += 16) {
      const __mmask16 md = tail_mask(hd - d);
      _mm512_mask_storeu_ps(dst + d, md, _mm512_mul_ps(_mm512_maskz_loadu_ps(md, src + d), inv));
    }
  }
}

template <int NV>
void attend_block_nv(const AttendBlock& b) {
  switch (b.hd) {
    case 64: return attend_block_impl<NV, 64>(b);
    case 128: return attend_block_impl<NV, 128>(b);
    case 256: return attend_block_impl<NV, 256>(b);
    default: return attend_block_impl<NV, 0>(b);
  }
}

}  // namespace

void attend_block_avx512(const AttendBlock& b) {
  if (b.n_q <= 16) return attend_block_nv<1>(b);
  attend_block_nv<2>(b);
}

}  // namespace qembed::detail
