#pragma once
// The CPU backend: the SIMD level read once at construction (kernels/cpu_features), weights prepared for it
// (int8 repacking on AVX-512 VNNI, CpuWeights), one thread pool, and the resumable packed-batch forward pass.
// Every kernel call gets the backend's level, so a level change elsewhere in the process (a test's
// ScopedSimdLevel, another backend) can never mix paths inside one backend's results.
#include <memory>

#include "backend/cpu/cpu_weights.hpp"
#include "backend/cpu/forward_pass.hpp"
#include "engine/backend.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

class CpuBackend final : public Backend {
 public:
  //! Reads simd_level() once (throws Error when QEMBED_SIMD names no level; one above the hardware caps silently)
  //! and prepares `model`'s weights for it. n_threads 0: all hardware threads. chunk_tokens bounds per-chunk
  //! scratch. The model must outlive the backend, and every task the backend started must end before it does.
  CpuBackend(const Model& model, int n_threads, int64_t chunk_tokens);
  ~CpuBackend() override;

  BackendInfo info() const override;
  //! A task of n_layer steps (ForwardPass): step l runs layer l for the whole batch.
  std::unique_ptr<ForwardTask> start(PackedBatch batch, OutputHead head) override;
  //! A CpuPrefixEntry: host f32 K/V, (n_layer, 2, n_tokens, kv_dim).
  std::shared_ptr<PrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past) override;
  int64_t prefix_entry_bytes(int64_t n_tokens) const override;
  MemoryPlan memory_plan(int64_t batch_tokens) const override;

  //! The level every kernel of this backend runs at.
  SimdLevel level() const { return weights_->level(); }
  //! The prepared weights (e.g. for forward_reference's like-fast arithmetic).
  const CpuWeights& weights() const { return *weights_; }
  const Model& model() const { return model_; }

 private:
  const Model& model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<CpuWeights> weights_;
  std::unique_ptr<ForwardPass> forward_;
};

}  // namespace qembed
