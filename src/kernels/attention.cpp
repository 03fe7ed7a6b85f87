// Causal GQA attention: a double-precision reference and a tiled online-softmax version whose work can be split
// by (query range x head range).
#include "kernels/attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention_kernels.hpp"
#include "kernels/cpu_features.hpp"

namespace qembed {
namespace {

std::atomic<bool> g_blocked{true};

void attend_row_scalar(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys, int64_t hd,
                       float scale, float* out) {
  float scores[detail::kAttentionKeyTile];
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  std::fill(out, out + hd, 0.0f);
  for (int64_t j0 = 0; j0 < n_keys; j0 += detail::kAttentionKeyTile) {
    const int64_t nt = std::min(detail::kAttentionKeyTile, n_keys - j0);
    float tile_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nt; ++j) {
      const float* kj = k + (j0 + j) * kv_stride;
      float s = 0.0f;
      for (int64_t d = 0; d < hd; ++d) s += q[d] * kj[d];
      scores[j] = s * scale;
      tile_max = std::max(tile_max, scores[j]);
    }
    const float m_new = std::max(m, tile_max);
    const float corr = std::exp(m - m_new);  // 0 on the first tile (m = -inf)
    l *= corr;
    for (int64_t d = 0; d < hd; ++d) out[d] *= corr;
    for (int64_t j = 0; j < nt; ++j) {
      const float p = std::exp(scores[j] - m_new);
      l += p;
      const float* vj = v + (j0 + j) * kv_stride;
      for (int64_t d = 0; d < hd; ++d) out[d] += p * vj[d];
    }
    m = m_new;
  }
  const float inv = 1.0f / l;
  for (int64_t d = 0; d < hd; ++d) out[d] *= inv;
}

detail::AttendRowFn attend_row_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512Vnni:
    case SimdLevel::Avx512: return detail::attend_row_avx512;
    case SimdLevel::Avx2: return detail::attend_row_avx2;
    case SimdLevel::Scalar: break;
  }
  return attend_row_scalar;
}

}  // namespace

void attention_ref(const AttentionShape& s, const float* q, int64_t n_q, int64_t q_pos0, const float* k,
                   const float* v, int64_t n_kv, float* out) {
  const int64_t hd = s.head_dim, group = s.n_head / s.n_head_kv, kv_stride = s.n_head_kv * hd;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<double> scores(static_cast<size_t>(n_kv)), acc(static_cast<size_t>(hd));
  for (int64_t i = 0; i < n_q; ++i) {
    const int64_t n_keys = q_pos0 + i + 1;  // causal: keys at positions <= the query's
    for (int64_t h = 0; h < s.n_head; ++h) {
      const float* qi = q + (i * s.n_head + h) * hd;
      const int64_t kvh = h / group;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n_keys; ++j) {
        const float* kj = k + j * kv_stride + kvh * hd;
        double dot = 0.0;
        for (int64_t d = 0; d < hd; ++d) dot += static_cast<double>(qi[d]) * kj[d];
        scores[j] = dot * scale;
        m = std::max(m, scores[j]);
      }
      double sum = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n_keys; ++j) {
        const double p = std::exp(scores[j] - m);
        sum += p;
        const float* vj = v + j * kv_stride + kvh * hd;
        for (int64_t d = 0; d < hd; ++d) acc[d] += p * vj[d];
      }
      float* o = out + (i * s.n_head + h) * hd;
      for (int64_t d = 0; d < hd; ++d) o[d] = static_cast<float>(acc[d] / sum);
    }
  }
  (void)n_kv;
}

void attention_tiled(const AttentionShape& s, const float* q, int64_t n_q, int64_t q_pos0, const float* k,
                     const float* v, int64_t n_kv, float* out, int64_t q_begin, int64_t q_end, int64_t h_begin,
                     int64_t h_end, SimdLevel requested) {
  (void)n_q;
  (void)n_kv;
  const SimdLevel level = simd_level_capped(requested);
  const int64_t hd = s.head_dim, group = s.n_head / s.n_head_kv, kv_stride = s.n_head_kv * hd;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const int64_t q_stride = s.n_head * hd;
  if (level >= SimdLevel::Avx2 && hd <= detail::kAttentionBlockMaxHeadDim &&
      g_blocked.load(std::memory_order_relaxed)) {
    const detail::AttendBlockFn attend_block =
        level >= SimdLevel::Avx512 ? detail::attend_block_avx512 : detail::attend_block_avx2;
    for (int64_t h = h_begin; h < h_end; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i0 = q_begin; i0 < q_end; i0 += detail::kAttentionQueryBlock) {
        const int64_t nb = std::min(detail::kAttentionQueryBlock, q_end - i0);
        attend_block({q + i0 * q_stride + h * hd, q_stride, k + kvh * hd, v + kvh * hd, kv_stride, nb, q_pos0 + i0, hd, scale, out + i0 * q_stride + h * hd, q_stride});
      }
    }
    return;
  }
  const detail::AttendRowFn attend = attend_row_for(level);
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t kvh = h / group;
    for (int64_t i = q_begin; i < q_end; ++i) {
      const int64_t n_keys = q_pos0 + i + 1;
      attend(q + i * q_stride + h * hd, k + kvh * hd, v + kvh * hd, kv_stride, n_keys, hd, scale,
             out + i * q_stride + h * hd);
    }
  }
}

namespace detail {
void set_attention_blocked(bool on) { g_blocked.store(on, std::memory_order_relaxed); }
}  // namespace detail

}  // namespace qembed
