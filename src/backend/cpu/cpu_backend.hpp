#pragma once
// The CPU backend: weights prepared for this CPU's kernels at construction (int8 repacking on AVX-512 VNNI), one
// thread pool, SIMD kernels picked at run time (kernels/cpu_features), and the packed-batch forward pass.
#include <memory>

#include "backend/cpu/forward_pass.hpp"
#include "engine/backend.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

class CpuBackend final : public Backend {
 public:
  //! n_threads 0: all hardware threads.
  CpuBackend(Model& model, int n_threads, int64_t chunk_tokens);
  ~CpuBackend() override;

  BackendInfo info() const override;
  std::unique_ptr<ForwardTask> start(PackedBatch batch, OutputHead head) override;
  std::shared_ptr<PrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past) override;
  int64_t prefix_entry_bytes(int64_t n_tokens) const override;
  MemoryPlan memory_plan(int64_t batch_tokens) const override;

 private:
  Model& model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ForwardPass> forward_;
};

}  // namespace qembed
