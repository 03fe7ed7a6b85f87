#pragma once
// The fast forward pass over a packed batch of sequences (no padding). Weights are read once per token chunk for
// all sequences together; attention runs per sequence with its own positions 0..n-1, so a sequence's result never
// depends on what else is in the batch. Memory: the residual stream and one layer's K/V for the whole batch,
// plus per-chunk scratch — never a T x T matrix, never all layers' K/V (except capture(), for one short sequence).
//
// A sequence may continue from a prefix cache entry: its first p positions' keys/values are copied from the entry
// layer by layer, and only tokens p..n-1 run through the layers (at positions p..n-1). The result equals the full
// computation because under the causal mask positions < p never see the tokens after them.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/backend.hpp"
#include "engine/prefix_cache.hpp"
#include "kernels/ops.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

class ForwardPass {
 public:
  //! chunk_tokens bounds the per-chunk activations (x, q, gate/up...) of every layer.
  ForwardPass(const Model& model, ThreadPool& pool, int64_t chunk_tokens = 512);

  //! Last-token hidden states after the output norm, one row of n_embd per sequence: (n_seq, n_embd).
  //! Every sequence must be non-empty and hold valid token ids. `past` is empty or one match per sequence: the
  //! sequence's first past[s].n_tokens positions are taken from the entry, whose ids must equal them, and at
  //! least the last token is computed (n_tokens < the sequence's length).
  std::vector<float> run(const std::vector<std::span<const int32_t>>& seqs, const std::vector<PrefixMatch>& past = {});
  //! The same over an already packed batch.
  std::vector<float> run(const PackedBatch& batch);

  //! Runs one sequence and keeps every layer's K/V of all its positions: the prefix cache entry for `ids`.
  //! `past` (optional) supplies its first positions from an existing entry.
  std::shared_ptr<PrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past = {});

  //! Bytes of activation memory run() needs for a batch of n_tokens total tokens (for admission control), cached
  //! positions included in n_tokens.
  int64_t activation_bytes(int64_t n_tokens) const;

 private:
  struct Batch;
  std::vector<float> run_batch(const Batch& b, PrefixEntry* capture_into);
  void embed_tokens(const Batch& b, float* h);
  void run_layer(int64_t layer, const Batch& b, float* h);
  void attention_chunk(const Batch& b, int64_t c0, int64_t n);
  void qk_norm_rope(const LayerWeights& L, const Batch& b, int64_t c0, int64_t n);
  void copy_past(int64_t layer, const Batch& b);

  const Model& model_;
  ThreadPool& pool_;
  int64_t chunk_tokens_;
  RopeTable rope_;
  // Scratch reused across calls, sized on demand.
  std::vector<float> k_, v_;  // (kv rows, kv_dim) one layer's keys/values for the whole batch, cached rows included
  std::vector<float> x_, q_, att_, tmp_, gate_, up_;  // per-chunk (chunk, ...)
  std::vector<float> kc_, vc_;                        // (chunk, kv_dim) the chunk's new keys/values before placing
};

}  // namespace qembed
