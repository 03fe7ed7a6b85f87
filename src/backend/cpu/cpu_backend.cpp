#include "backend/cpu/cpu_backend.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "backend/cpu/cpu_prefix_entry.hpp"
#include "common/error.hpp"

namespace qembed {

namespace {

SimdLevel checked_simd_level() {
  if (std::string err = simd_env_error(); !err.empty()) throw Error(err);
  return simd_level();
}

}  // namespace

CpuBackend::CpuBackend(const Model& model, int n_threads, int64_t chunk_tokens)
    : model_(model), weights_(std::make_unique<CpuWeights>(model, checked_simd_level())) {
  const int n = n_threads > 0 ? n_threads : static_cast<int>(std::thread::hardware_concurrency());
  pool_ = std::make_unique<ThreadPool>(std::max(1, n));
  forward_ = std::make_unique<ForwardPass>(model_, *weights_, *pool_, chunk_tokens);
}

CpuBackend::~CpuBackend() = default;

BackendInfo CpuBackend::info() const {
  BackendInfo i;
  i.name = "cpu";
  i.numeric_path = std::string("cpu/") + simd_level_name(level());
  i.n_threads = pool_->size();
  i.prepared_bytes = weights_->prepared_bytes();
  return i;
}

std::unique_ptr<ForwardTask> CpuBackend::start(PackedBatch batch, OutputHead head) {
  return forward_->start(std::move(batch), head);
}

std::shared_ptr<PrefixEntry> CpuBackend::capture(std::span<const int32_t> ids, const PrefixMatch& past) {
  return forward_->capture(ids, past);
}

int64_t CpuBackend::prefix_entry_bytes(int64_t n_tokens) const {
  return CpuPrefixEntry::bytes_for(n_tokens, model_.config.n_layer, model_.config.kv_dim());
}

MemoryPlan CpuBackend::memory_plan(int64_t batch_tokens) const {
  MemoryPlan p;
  // The mapped file, less the pages of packed matrices released after repacking, plus the packed copies.
  p.weights_bytes =
      static_cast<int64_t>(model_.file_bytes) - weights_->released_file_bytes() + weights_->prepared_bytes();
  p.activation_bytes = forward_->activation_bytes(batch_tokens);
  p.prefix_bytes_per_token = prefix_entry_bytes(1);
  return p;
}

}  // namespace qembed
