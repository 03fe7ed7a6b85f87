#pragma once
// Small element-wise ops of the Qwen3 layer, each one row at a time (the caller parallelizes over rows). The SIMD
// level defaults to the process-wide one; a backend passes the level it fixed at construction.
#include <cstdint>
#include <vector>

#include "kernels/cpu_features.hpp"

namespace qembed {

//! y = x / sqrt(mean(x^2) + eps) * w   (n values; y may alias x)
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps, SimdLevel level = simd_level());
//! out[i] = silu(gate[i]) * up[i]   (out may alias gate)
void silu_mul(const float* gate, const float* up, float* out, int64_t n, SimdLevel level = simd_level());

//! cos/sin of the neox rotary embedding for positions [0, n_pos), head_dim hd, base theta.
class RopeTable {
 public:
  RopeTable(int64_t head_dim, double theta);
  //! Rotates one head vector x (head_dim values) in place for position pos (rotate-half form).
  void apply(float* x, int64_t pos) const;
  //! Rotates n_heads consecutive head vectors (n_heads, head_dim) in place, all at position pos.
  void apply_heads(float* x, int64_t n_heads, int64_t pos) const;
  //! Precomputes cos/sin for positions [0, n_pos) so apply() needs no trigonometry there (same values as
  //! computing on the fly). Not thread-safe against concurrent apply(); call it before sharing the table.
  void reserve(int64_t n_pos);
  int64_t head_dim() const { return head_dim_; }

 private:
  //! cos/sin (as float) of pos * inv_freq_[i], i < head_dim/2.
  void angles(int64_t pos, float* cos_out, float* sin_out) const;

  int64_t head_dim_;
  std::vector<double> inv_freq_;  // (head_dim/2)
  int64_t cached_pos_ = 0;
  std::vector<float> cos_sin_;  // (cached_pos_, 2, head_dim/2): cos then sin per position
};

}  // namespace qembed
