#pragma once
// A Backend with no model: its "pooled vector" of a sequence records what the engine asked for (cached positions,
// computed tokens, their ids and positions), so engine tests can check batching, prefix reuse and the budget
// without weights. Its prefix entries hold only ids and a made-up size.
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "engine/backend.hpp"
#include "engine/prefix_cache.hpp"

namespace qembed::testing {

//! kBytesPerToken per position, like a backend's K/V.
class FakePrefixEntry final : public PrefixEntry {
 public:
  static constexpr int64_t kBytesPerToken = 100;
  explicit FakePrefixEntry(std::vector<int32_t> token_ids) : PrefixEntry(std::move(token_ids)) {}
  int64_t bytes() const override { return n_tokens() * kBytesPerToken; }
};

//! Output row per sequence (n_embd = kWidth): {cached positions, computed tokens, sum of computed ids,
//! first computed position}.
class FakeBackend final : public Backend {
 public:
  static constexpr int64_t kWidth = 4;
  static constexpr int64_t kSteps = 3;

  struct Started {
    int64_t n_seq, n_tokens, n_kv_rows;
  };
  std::vector<Started> started;              //!< every batch start() got, in order
  std::vector<int64_t> capture_past_tokens;  //!< per capture(), the cached positions it started from

  BackendInfo info() const override { return {"fake", "fake/exact", 1, 0}; }

  std::unique_ptr<ForwardTask> start(PackedBatch batch, OutputHead) override {
    started.push_back({batch.n_seq(), batch.n_tokens(), batch.n_kv_rows()});
    return std::make_unique<Task>(std::move(batch));
  }
  std::shared_ptr<PrefixEntry> capture(std::span<const int32_t> ids, const PrefixMatch& past) override {
    capture_past_tokens.push_back(past.n_tokens);
    return std::make_shared<FakePrefixEntry>(std::vector<int32_t>(ids.begin(), ids.end()));
  }
  int64_t prefix_entry_bytes(int64_t n_tokens) const override { return n_tokens * FakePrefixEntry::kBytesPerToken; }
  MemoryPlan memory_plan(int64_t batch_tokens) const override { return {0, batch_tokens, 0, 0}; }

 private:
  class Task final : public ForwardTask {
   public:
    explicit Task(PackedBatch b) : batch_(std::move(b)) {}
    bool step() override {
      if (done_ < kSteps) ++done_;
      return done_ == kSteps;
    }
    int64_t layers_done() const override { return done_; }
    int64_t layers_total() const override { return kSteps; }
    std::vector<float> take_output() override {
      std::vector<float> out;
      for (int64_t s = 0; s < batch_.n_seq(); ++s) {
        const int64_t b = batch_.seq_offsets[s], e = batch_.seq_offsets[s + 1];
        const int64_t cached = batch_.past.empty() ? 0 : batch_.past[s].n_tokens;
        const auto ids_sum = std::accumulate(batch_.token_ids.begin() + b, batch_.token_ids.begin() + e, int64_t{0});
        out.insert(out.end(), {static_cast<float>(cached), static_cast<float>(e - b), static_cast<float>(ids_sum),
                               static_cast<float>(batch_.positions[b])});
      }
      return out;
    }

   private:
    PackedBatch batch_;
    int64_t done_ = 0;
  };
};

}  // namespace qembed::testing
