#include "engine/engine.hpp"

#include <string>

#include "common/error.hpp"

namespace qembed {

namespace {

void check_ids(std::span<const int32_t> ids, int64_t n_vocab, const std::string& what) {
  if (ids.empty()) throw Error(what + " has no tokens");
  for (int32_t id : ids) {
    if (id < 0 || id >= n_vocab) {
      throw Error(what + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(n_vocab) + ")");
    }
  }
}

}  // namespace

Engine::Engine(std::unique_ptr<Backend> backend, const Qwen3Config& config, const EngineOptions& options)
    : backend_(std::move(backend)), config_(config), options_(options), prefix_cache_(options.prefix_cache_bytes) {}

Engine::~Engine() = default;

PrefixStatus Engine::remember_prefix(std::vector<int32_t> ids) {
  const auto n = static_cast<int64_t>(ids.size());
  if (n < PrefixCache::kMinMatchTokens || n > config_.n_ctx || !prefix_cache_.fits(backend_->prefix_entry_bytes(n))) {
    return PrefixStatus::kNotCacheable;
  }
  check_ids(ids, config_.n_vocab, "prefix");
  if (prefix_cache_.find(ids, n).n_tokens == n) return PrefixStatus::kCached;
  // A prompt that shares its start with a cached one (same "Instruct: " head, another task) computes only the rest.
  PrefixMatch past = prefix_cache_.find(ids, n - 1);
  prefix_cache_.make_room(backend_->prefix_entry_bytes(n));
  prefix_cache_.insert(backend_->capture(ids, past));
  ++prefix_stats_.entries_computed;
  return PrefixStatus::kComputed;
}

std::unique_ptr<ForwardTask> Engine::start(const std::vector<std::span<const int32_t>>& seqs,
                                           std::vector<int64_t>* reused_tokens) {
  std::vector<PrefixMatch> past;
  past.reserve(seqs.size());
  if (reused_tokens) reused_tokens->assign(seqs.size(), 0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    check_ids(seqs[s], config_.n_vocab, "input " + std::to_string(s));
    // At most n-1 positions: the last token is the pooled one and must go through the layers.
    past.push_back(prefix_cache_.find(seqs[s], static_cast<int64_t>(seqs[s].size()) - 1));
    if (past.back()) {
      ++prefix_stats_.inputs_reused;
      prefix_stats_.tokens_reused += past.back().n_tokens;
      if (reused_tokens) (*reused_tokens)[s] = past.back().n_tokens;
    }
  }
  return backend_->start(PackedBatch::pack(seqs, past), options_.head);
}

std::vector<std::vector<float>> Engine::embed(const std::vector<std::vector<int32_t>>& seqs,
                                              std::vector<int64_t>* reused_tokens) {
  const int64_t E = output_width();
  std::vector<std::vector<float>> out(seqs.size());
  if (reused_tokens) reused_tokens->assign(seqs.size(), 0);
  size_t i = 0;
  while (i < seqs.size()) {
    // Greedy token-budget batch in input order; one input longer than the budget runs alone.
    std::vector<std::span<const int32_t>> batch;
    int64_t tokens = 0;
    const size_t first = i;
    while (i < seqs.size() &&
           (batch.empty() || tokens + static_cast<int64_t>(seqs[i].size()) <= options_.max_batch_tokens)) {
      check_ids(seqs[i], config_.n_vocab, "input " + std::to_string(i));  // named by its place in `seqs`
      batch.emplace_back(seqs[i]);
      tokens += static_cast<int64_t>(seqs[i].size());
      ++i;
    }
    std::vector<int64_t> reused;
    std::unique_ptr<ForwardTask> task = start(batch, reused_tokens ? &reused : nullptr);
    while (!task->step()) {
    }
    std::vector<float> pooled = task->take_output();
    for (size_t j = 0; j < batch.size(); ++j) {
      out[first + j].assign(pooled.begin() + static_cast<int64_t>(j) * E,
                            pooled.begin() + static_cast<int64_t>(j + 1) * E);
      if (reused_tokens) (*reused_tokens)[first + j] = reused[j];
    }
  }
  return out;
}

}  // namespace qembed
