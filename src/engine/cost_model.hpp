#pragma once
// What a token costs to compute, in "token-equivalents": the work of one token's projections and MLP in every
// layer (independent of its position) plus its attention over the positions before it, which grows with the
// position. One unit is the cost of a token at the start of a sequence, so a batch of short inputs costs about its
// token count, while a 32K-token input costs about five times its tokens on the 0.6B shape. The scheduler uses it
// to bound queues and steps by work instead of tokens (attention is quadratic in length: eight 32K inputs are not
// 262,144 ordinary tokens), and the backend to cut a layer into chunks of about equal time.
#include <algorithm>
#include <cstdint>

#include "model/qwen3_config.hpp"

namespace qembed {

class CostModel {
 public:
  CostModel() = default;
  explicit CostModel(const Qwen3Config& c) {
    // Multiply-adds per token and layer: q, k, v, o projections and the SwiGLU MLP.
    const double linear = static_cast<double>(c.n_embd) * (c.q_dim() + 2 * c.kv_dim()) +
                          static_cast<double>(c.q_dim()) * c.n_embd + 3.0 * c.n_embd * c.n_ff;
    // Multiply-adds per attended key and layer: q.k and the weighted sum of v, every query head.
    const double per_key = 2.0 * static_cast<double>(c.q_dim());
    if (linear > 0 && per_key > 0) keys_per_unit_ = linear / per_key;
  }

  //! Work of the token at `position` (0-based) of its sequence: it attends to position + 1 keys.
  double token(int64_t position) const { return 1.0 + static_cast<double>(position + 1) / keys_per_unit_; }
  //! Work of computing positions [from, to) of one sequence (from > 0: the first positions came from a cache).
  double span(int64_t from, int64_t to) const {
    if (to <= from) return 0;
    const double n = static_cast<double>(to - from);
    // sum over p in [from, to) of (p + 1) = n * (from + to + 1) / 2
    return n + n * (static_cast<double>(from + to) + 1.0) / 2.0 / keys_per_unit_;
  }
  //! Work of one whole sequence of n tokens.
  double sequence(int64_t n) const { return span(0, n); }
  //! Attended keys that cost as much as one token's projections (3,840 on the 0.6B shape).
  double keys_per_unit() const { return keys_per_unit_; }

 private:
  double keys_per_unit_ = 4096;
};

}  // namespace qembed
