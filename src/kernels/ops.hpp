#pragma once
// Small element-wise ops of the Qwen3 layer, each one row at a time (the engine parallelizes over rows).
#include <cstdint>
#include <vector>

namespace qembed {

//! y = x / sqrt(mean(x^2) + eps) * w   (n values; y may alias x)
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
//! out[i] = silu(gate[i]) * up[i]   (out may alias gate)
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

//! cos/sin of the neox rotary embedding for positions [0, n_pos), head_dim hd, base theta.
class RopeTable {
 public:
  RopeTable(int64_t head_dim, double theta);
  //! Rotates one head vector x (head_dim values) in place for position pos (rotate-half form).
  void apply(float* x, int64_t pos) const;
  int64_t head_dim() const { return head_dim_; }

 private:
  int64_t head_dim_;
  std::vector<double> inv_freq_;  // (head_dim/2)
};

}  // namespace qembed
