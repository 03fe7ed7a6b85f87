// Row-wise element ops of the Qwen3 layer. The scalar versions here are plain loops (the oracle, and the path
// below AVX-512); ops_avx512.cpp has the vector ones.
#include "kernels/ops.hpp"

#include <cmath>

#include "kernels/cpu_features.hpp"
#include "kernels/ops_kernels.hpp"

namespace qembed {

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps, SimdLevel level) {
  if (simd_level_capped(level) >= SimdLevel::Avx512) return detail::rmsnorm_avx512(x, w, y, n, eps);
  constexpr int kLanes = 16;
  float part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) part[j] += x[i + j] * x[i + j];
  float sum = 0.0f;
  for (; i < n; ++i) sum += x[i] * x[i];
  for (int j = 0; j < kLanes; ++j) sum += part[j];
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int64_t k = 0; k < n; ++k) y[k] = x[k] * inv * w[k];
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n, SimdLevel level) {
  if (simd_level_capped(level) >= SimdLevel::Avx512) return detail::silu_mul_avx512(gate, up, out, n);
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

RopeTable::RopeTable(int64_t head_dim, double theta) : head_dim_(head_dim) {
  const int64_t half = head_dim / 2;
  inv_freq_.resize(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv_freq_[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
}

void RopeTable::angles(int64_t pos, float* cos_out, float* sin_out) const {
  const int64_t half = head_dim_ / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double phi = static_cast<double>(pos) * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(phi));
    sin_out[i] = static_cast<float>(std::sin(phi));
  }
}

void RopeTable::reserve(int64_t n_pos) {
  if (n_pos <= cached_pos_) return;
  const int64_t half = head_dim_ / 2;
  cos_sin_.resize(static_cast<size_t>(n_pos * 2 * half));
  for (int64_t p = cached_pos_; p < n_pos; ++p) angles(p, &cos_sin_[p * 2 * half], &cos_sin_[p * 2 * half + half]);
  cached_pos_ = n_pos;
}

void RopeTable::apply_heads(float* x, int64_t n_heads, int64_t pos) const {
  const int64_t half = head_dim_ / 2;
  const float* c;
  const float* s;
  std::vector<float> local;
  if (pos >= 0 && pos < cached_pos_) {
    c = &cos_sin_[pos * 2 * half];
    s = c + half;
  } else {
    local.resize(static_cast<size_t>(2 * half));
    angles(pos, local.data(), local.data() + half);
    c = local.data();
    s = c + half;
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* xh = x + h * head_dim_;
    for (int64_t i = 0; i < half; ++i) {
      const float a = xh[i], b = xh[i + half];
      xh[i] = a * c[i] - b * s[i];
      xh[i + half] = b * c[i] + a * s[i];
    }
  }
}

void RopeTable::apply(float* x, int64_t pos) const { apply_heads(x, 1, pos); }

}  // namespace qembed
