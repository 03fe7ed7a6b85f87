#pragma once
// The CPU forward pass over a packed batch of sequences (no padding), resumable layer by layer. Weights are read
// once per token chunk for all sequences together; attention runs per sequence with its own positions 0..n-1, so a
// sequence's result never depends on what else is in the batch. Memory per task: the residual stream and one
// layer's K/V for the whole batch; per-chunk scratch (x, q, gate/up...) is shared by all tasks of a ForwardPass,
// as their steps never overlap — never a T x T matrix, never all layers' K/V (except a capture, for one short
// sequence).
//
// A sequence may continue from a prefix cache entry (CpuPrefixEntry): its first p positions' keys/values are copied
// from the entry layer by layer, and only tokens p..n-1 run through the layers (at positions p..n-1). The result
// equals the full computation because under the causal mask positions < p never see the tokens after them.
//
// Steps: by default a task takes n_layer steps; step l runs layer l for every token of the batch (step 0 first
// looks up the token embeddings, the last step then applies the output norm at each sequence's last token). With a
// step work bound (ForwardTask::set_step_work) a step runs the next chunk of a layer's tokens whose work fits it,
// so a step's time is bounded even for a 32K-token input. Between two steps a task holds only its own buffers, so
// another task of the same ForwardPass may run in between.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/cpu/cpu_prefix_entry.hpp"
#include "backend/cpu/cpu_weights.hpp"
#include "engine/backend.hpp"
#include "engine/cost_model.hpp"
#include "engine/prefix_cache.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/ops.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

class CpuForwardTask;

class ForwardPass {
 public:
  //! Kernels run at weights.level(), whatever the process-wide level does later. chunk_tokens bounds the per-chunk
  //! activations (x, q, gate/up...) of every layer. model, weights and pool must outlive the ForwardPass.
  ForwardPass(const Model& model, const CpuWeights& weights, ThreadPool& pool, int64_t chunk_tokens = 512);
  ~ForwardPass();

  //! A resumable pass over `batch` (n_layer steps), returning (n_seq, n_embd): each sequence's last-token hidden
  //! state after the output norm. Every sequence must be non-empty and hold valid token ids; prefix matches must be
  //! CpuPrefixEntry of this model's shape. `capture_into` (one-sequence batches only) receives every layer's K/V of
  //! all the sequence's positions. The task must not outlive this ForwardPass.
  std::unique_ptr<ForwardTask> start(PackedBatch batch, OutputHead head = OutputHead::kLastTokenPooled,
                                     std::shared_ptr<CpuPrefixEntry> capture_into = nullptr);
  //! start() stepped to the end.
  std::vector<float> run(PackedBatch batch);
  //! The same over unpacked sequences; `past` is empty or one match per sequence (PackedBatch::pack).
  std::vector<float> run(const std::vector<std::span<const int32_t>>& seqs, const std::vector<PrefixMatch>& past = {});

  //! Runs one sequence and keeps every layer's K/V of all its positions: the prefix cache entry for `ids`.
  //! `past` (optional) supplies its first positions from an existing entry.
  std::shared_ptr<CpuPrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past = {});

  //! Bytes of activation memory one task of n_tokens (cached positions included) needs: its residual stream and
  //! one layer's K/V, plus the shared per-chunk scratch.
  int64_t activation_bytes(int64_t n_tokens) const;
  //! Steps every task takes (one per layer, at least one).
  int64_t steps_per_task() const;

 private:
  friend class CpuForwardTask;
  struct Batch;
  struct TaskState;

  void begin(TaskState& t);
  //! One step of `layer`: the whole layer, or the next chunks that fit the task's step work.
  void run_step(int64_t layer, TaskState& t);
  //! Tokens [c0, c0 + n) through `layer`.
  void run_chunk(int64_t layer, TaskState& t, int64_t c0, int64_t n);
  //! Tokens in the task's next chunk: chunk_tokens_, or fewer when the step's work bound is reached first.
  int64_t next_chunk(const TaskState& t) const;
  std::vector<float> pool_outputs(const TaskState& t);
  void reserve_scratch(int64_t chunk);
  void attention_chunk(const TaskState& t, int64_t c0, int64_t n);
  void qk_norm_rope(int64_t layer, TaskState& t, int64_t c0, int64_t n);
  void copy_past(int64_t layer, TaskState& t);

  const Model& model_;
  const CpuWeights& weights_;
  ThreadPool& pool_;
  SimdLevel level_;
  int64_t chunk_tokens_;
  CostModel cost_;
  RopeTable rope_;
  // Per-chunk scratch shared by every task (steps never overlap), grown on demand, bounded by chunk_tokens_.
  std::vector<float> x_, tmp_;    // (chunk, n_embd) normed input; projection output before the residual add
  std::vector<float> q_, att_;    // (chunk, q_dim) queries; attention output
  std::vector<float> gate_, up_;  // (chunk, n_ff)
  std::vector<float> kc_, vc_;    // (chunk, kv_dim) the chunk's new keys/values before placing
};

}  // namespace qembed
