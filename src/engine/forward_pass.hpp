#pragma once
// The fast forward pass over a packed batch of sequences (no padding). Weights are read once per token chunk for
// all sequences together; attention runs per sequence with its own positions 0..n-1, so a sequence's result never
// depends on what else is in the batch. Memory: the residual stream and one layer's K/V for the whole batch,
// plus per-chunk scratch — never a T x T matrix, never all layers' K/V.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/ops.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

class ForwardPass {
 public:
  //! chunk_tokens bounds the per-chunk activations (x, q, gate/up...) of every layer.
  ForwardPass(const Model& model, ThreadPool& pool, int64_t chunk_tokens = 512);

  //! Last-token hidden states after the output norm, one row of n_embd per sequence: (n_seq, n_embd).
  //! Every sequence must be non-empty and hold valid token ids.
  std::vector<float> run(const std::vector<std::span<const int32_t>>& seqs);

  //! Bytes of activation memory run() needs for a batch of n_tokens total tokens (for admission control).
  int64_t activation_bytes(int64_t n_tokens) const;

 private:
  struct Batch;
  void embed_tokens(const Batch& b, float* h);
  void run_layer(const LayerWeights& L, const Batch& b, float* h);
  void attention_chunk(const Batch& b, int64_t c0, int64_t n);
  void qk_norm_rope(const LayerWeights& L, const Batch& b, int64_t c0, int64_t n);

  const Model& model_;
  ThreadPool& pool_;
  int64_t chunk_tokens_;
  RopeTable rope_;
  // Scratch reused across calls, sized on demand.
  std::vector<float> k_, v_;                          // (T, kv_dim) one layer's keys/values for the whole batch
  std::vector<float> x_, q_, att_, tmp_, gate_, up_;  // per-chunk (chunk, ...)
};

}  // namespace qembed
