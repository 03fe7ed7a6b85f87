// AVX2 inner loop of attention_tiled: SIMD dot products and value accumulation (scalar exp per score).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention_kernels.hpp"

namespace qembed::detail {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= n; d += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), acc1);
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
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

}  // namespace qembed::detail
