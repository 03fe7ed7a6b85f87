// AVX-512 inner loop of attention_tiled: SIMD dot products, a vectorized exp over each key tile's scores and
// vectorized accumulation of the weighted values.
// GCC 12 flags _mm512_undefined_ps() inside its own intrinsics headers as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention_kernels.hpp"

namespace qembed::detail {
namespace {

inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// e^x for x <= 0 (softmax arguments): 2^n * e^r with |r| <= ln2/2 and a degree-6 Taylor polynomial (~1 ulp).
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

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

}  // namespace qembed::detail
