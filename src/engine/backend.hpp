#pragma once
// The seam between the engine and the hardware. The engine decides what to compute (which sequences, which
// cached prefixes, which head); a backend decides how: weight layout (repacking, upload), kernels, threads,
// devices. The CPU backend lives in backend/cpu; a CUDA backend implements the same interface in backend/cuda
// without touching model/, engine/ or service/.
//
// A forward pass is a ForwardTask advanced step by step (a step is one layer for every token of the batch, or a
// chunk of a layer's tokens when the caller bounds a step's work), so a scheduler can run a short batch to
// completion between two steps of a long one.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/prefix_cache.hpp"

namespace qembed {

//! A flattened batch (TEI's layout): the tokens to compute of every sequence back to back, no padding.
struct PackedBatch {
  std::vector<int32_t> token_ids;    //!< (n_tokens) computed tokens only (cached prefix positions excluded)
  std::vector<int32_t> positions;    //!< (n_tokens) each token's position inside its own sequence
  std::vector<int64_t> seq_offsets;  //!< (n_seq + 1) sequence s computes token_ids[seq_offsets[s], seq_offsets[s+1])
  //! (n_seq) or empty: sequence s's positions 0..past[s].n_tokens-1 come from a prefix-cache entry.
  std::vector<PrefixMatch> past;

  int64_t n_seq() const { return seq_offsets.empty() ? 0 : static_cast<int64_t>(seq_offsets.size()) - 1; }
  int64_t n_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  //! K/V rows the batch occupies: computed tokens plus cached positions.
  int64_t n_kv_rows() const;

  //! Packs whole sequences, each continuing after its match (empty `past`: none). Throws Error when a match's
  //! ids differ from its sequence's or leave no token to compute (the last token is the pooled one).
  static PackedBatch pack(const std::vector<std::span<const int32_t>>& seqs, const std::vector<PrefixMatch>& past);
};

//! What a forward pass returns from each sequence's final hidden states.
enum class OutputHead {
  kLastTokenPooled,  //!< (n_seq, n_embd): the output-normed hidden state at each sequence's last token
  kRankLogits,       //!< (n_seq, 2): a reranker's "yes" and "no" logits at each sequence's last token (RankHead)
};

//! Values per sequence a head returns.
int64_t output_width(OutputHead head, int64_t n_embd);

//! A forward pass in progress. Several tasks of one backend may be alive at once (each owns its residual stream
//! and K/V, and keeps the prefix entries its batch reads alive); their steps are called from one thread at a time
//! and never overlap. A task must not outlive the backend that started it.
class ForwardTask {
 public:
  virtual ~ForwardTask() = default;
  //! Runs the next step; true once the output is ready.
  virtual bool step() = 0;
  //! Layers every token of the batch has been through, of layers_total() (progress, for tests and logs).
  virtual int64_t layers_done() const = 0;
  virtual int64_t layers_total() const = 0;
  //! Bounds the work of each following step to about `work` token-equivalents (engine/cost_model.hpp), so a step
  //! takes a bounded time whatever the batch; 0 (the default): a step is one whole layer. Results do not depend on
  //! it. A backend that cannot cut a layer ignores it.
  virtual void set_step_work(double work) { (void)work; }
  //! Token-equivalents computed so far (the scheduler measures its rate from it); 0 when the backend doesn't say.
  virtual double work_done() const { return 0; }
  //! The head's output, row-major, one row per sequence; call once, after step() returned true.
  virtual std::vector<float> take_output() = 0;
};

//! What a backend needs in memory, for the server's start-up bound (on any device).
struct MemoryPlan {
  int64_t weights_bytes = 0;           //!< weights as the backend holds them (mapped, repacked or uploaded)
  int64_t activation_bytes = 0;        //!< one task of the queried batch size: residual, one layer's K/V, scratch
  int64_t prefix_bytes_per_token = 0;  //!< one cached prefix position, all layers
  int64_t device_total_bytes = 0;      //!< memory of the device the backend computes on; 0: host RAM, not capped
};

struct BackendInfo {
  std::string name;          //!< "cpu", "cuda:0"
  //! What decides the last bits of a result (e.g. "cpu/avx512vnni"): the same ids through the same path give the
  //! same bits. Part of every cache key.
  std::string numeric_path;
  int n_threads = 1;
  int64_t prepared_bytes = 0;  //!< weights rewritten for this backend at preparation (e.g. int8 repacking)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;
  //! Starts a forward pass; the batch's ids are valid (checked by the engine) and its matches consistent.
  virtual std::unique_ptr<ForwardTask> start(PackedBatch batch, OutputHead head) = 0;
  //! Runs one sequence and keeps every layer's K/V of all its positions: the prefix-cache entry for `ids`, of the
  //! backend's own entry type (its K/V stay in the backend's memory). `past` (optional) supplies its first
  //! positions from an existing entry of this backend. May run between two steps of a live task.
  virtual std::shared_ptr<PrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past) = 0;
  //! Bytes a prefix entry of n_tokens holds on this backend (checked against the cache budget before capture).
  virtual int64_t prefix_entry_bytes(int64_t n_tokens) const = 0;
  //! Memory for a batch of `batch_tokens` (cached positions included).
  virtual MemoryPlan memory_plan(int64_t batch_tokens) const = 0;

  //! start() and step() to the end.
  std::vector<float> run(PackedBatch batch, OutputHead head);
};

}  // namespace qembed
