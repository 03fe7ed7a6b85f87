#include "backend/cpu/cpu_backend.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "kernels/cpu_features.hpp"

namespace qembed {

void repack_for_cpu(Model& model);

namespace {

//! Today's CPU forward pass runs a batch in one step.
class CpuForwardTask final : public ForwardTask {
 public:
  CpuForwardTask(ForwardPass& forward, PackedBatch batch) : forward_(forward), batch_(std::move(batch)) {}
  bool step() override {
    if (!done_) {
      output_ = forward_.run(batch_);
      done_ = true;
    }
    return true;
  }
  int64_t steps_done() const override { return done_ ? 1 : 0; }
  int64_t steps_total() const override { return 1; }
  std::vector<float> take_output() override { return std::move(output_); }

 private:
  ForwardPass& forward_;
  PackedBatch batch_;
  std::vector<float> output_;
  bool done_ = false;
};

}  // namespace

CpuBackend::CpuBackend(Model& model, int n_threads, int64_t chunk_tokens) : model_(model) {
  repack_for_cpu(model_);
  const int n = n_threads > 0 ? n_threads : static_cast<int>(std::thread::hardware_concurrency());
  pool_ = std::make_unique<ThreadPool>(std::max(1, n));
  forward_ = std::make_unique<ForwardPass>(model_, *pool_, chunk_tokens);
}

CpuBackend::~CpuBackend() = default;

BackendInfo CpuBackend::info() const {
  BackendInfo i;
  i.name = "cpu";
  i.numeric_path = std::string("cpu/") + simd_level_name(simd_level());
  i.n_threads = pool_->size();
  i.prepared_bytes = static_cast<int64_t>(model_.repacked_bytes);
  return i;
}

std::unique_ptr<ForwardTask> CpuBackend::start(PackedBatch batch, OutputHead) {
  return std::make_unique<CpuForwardTask>(*forward_, std::move(batch));
}

std::shared_ptr<PrefixEntry> CpuBackend::capture(std::span<const int32_t> ids, const PrefixMatch& past) {
  return forward_->capture(ids, past);
}

int64_t CpuBackend::prefix_entry_bytes(int64_t n_tokens) const {
  return PrefixEntry::bytes_for(n_tokens, model_.config.n_layer, model_.config.kv_dim());
}

MemoryPlan CpuBackend::memory_plan(int64_t batch_tokens) const {
  MemoryPlan p;
  p.weights_bytes = static_cast<int64_t>(model_.file_bytes);
  p.activation_bytes = forward_->activation_bytes(batch_tokens);
  p.prefix_bytes_per_token = prefix_entry_bytes(1);
  return p;
}

}  // namespace qembed
