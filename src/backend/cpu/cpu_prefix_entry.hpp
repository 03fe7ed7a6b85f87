#pragma once
// The CPU backend's prefix-cache entry: host f32 keys/values of every layer, in the layout the forward pass copies
// into its one-layer K/V buffer (one memcpy per layer and per K and V).
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/prefix_cache.hpp"

namespace qembed {

class CpuPrefixEntry final : public PrefixEntry {
 public:
  CpuPrefixEntry(std::vector<int32_t> token_ids, int64_t n_layer, int64_t kv_dim)
      : PrefixEntry(std::move(token_ids)), n_layer_(n_layer), kv_dim_(kv_dim) {
    kv.resize(static_cast<size_t>(n_layer_ * 2 * n_tokens() * kv_dim_));
  }

  std::vector<float> kv;  //!< (n_layer, 2, n_tokens, kv_dim): per layer its K rows, then its V rows

  int64_t n_layer() const { return n_layer_; }
  int64_t kv_dim() const { return kv_dim_; }
  //! (n_tokens, kv_dim) layer `layer`'s keys (after k-norm and RoPE) / values.
  float* k(int64_t layer) { return kv.data() + (2 * layer) * n_tokens() * kv_dim_; }
  float* v(int64_t layer) { return kv.data() + (2 * layer + 1) * n_tokens() * kv_dim_; }
  const float* k(int64_t layer) const { return kv.data() + (2 * layer) * n_tokens() * kv_dim_; }
  const float* v(int64_t layer) const { return kv.data() + (2 * layer + 1) * n_tokens() * kv_dim_; }

  //! What an entry of n_tokens costs: its K/V plus its ids.
  static int64_t bytes_for(int64_t n_tokens, int64_t n_layer, int64_t kv_dim) {
    return n_tokens *
           (n_layer * 2 * kv_dim * static_cast<int64_t>(sizeof(float)) + static_cast<int64_t>(sizeof(int32_t)));
  }
  int64_t bytes() const override { return bytes_for(n_tokens(), n_layer_, kv_dim_); }

 private:
  int64_t n_layer_;
  int64_t kv_dim_;
};

}  // namespace qembed
