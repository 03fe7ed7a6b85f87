#include "engine/embedder.hpp"

#include <span>
#include <thread>

#include "common/error.hpp"
#include "engine/embedding_options.hpp"

namespace qembed {

namespace {

void check_ids(std::span<const int32_t> ids, int64_t n_vocab, const std::string& what) {
  for (int32_t id : ids) {
    if (id < 0 || id >= n_vocab) {
      throw Error(what + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(n_vocab) + ")");
    }
  }
}

}  // namespace

Embedder::Embedder(const Model& model, const EmbedderOptions& options)
    : model_(model), options_(options), prefix_cache_(options.prefix_cache_bytes) {
  int n = options.n_threads > 0 ? options.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  pool_ = std::make_unique<ThreadPool>(std::max(1, n));
  forward_ = std::make_unique<ForwardPass>(model, *pool_, options.chunk_tokens);
}

Embedder::~Embedder() = default;

int Embedder::n_threads() const { return pool_->size(); }

std::vector<int32_t> Embedder::tokenize(std::string_view text, bool truncate, int64_t input_index,
                                        int64_t max_tokens) const {
  std::vector<int32_t> ids;
  try {
    ids = model_.tokenizer->encode(text);
  } catch (const Error& e) {
    throw Error("input " + std::to_string(input_index) + ": " + e.what());
  }
  int64_t limit = model_.config.n_ctx;
  if (max_tokens > 0) limit = std::min(limit, max_tokens);
  fit_tokens(ids, model_.tokenizer->eos_id(), model_.append_eos, limit, truncate, input_index);
  return ids;
}

PrefixStatus Embedder::remember_prefix(std::vector<int32_t> ids) {
  const Qwen3Config& c = model_.config;
  const auto n = static_cast<int64_t>(ids.size());
  if (n < PrefixCache::kMinMatchTokens || n > c.n_ctx || !prefix_cache_.fits(n, c.n_layer, c.kv_dim())) {
    return PrefixStatus::kNotCacheable;
  }
  check_ids(ids, c.n_vocab, "prefix");
  if (prefix_cache_.find(ids, n).n_tokens == n) return PrefixStatus::kCached;
  // A prompt that shares its start with a cached one (same "Instruct: " head, another task) computes only the rest.
  PrefixMatch past = prefix_cache_.find(ids, n - 1);
  prefix_cache_.make_room(PrefixEntry::bytes_for(n, c.n_layer, c.kv_dim()));
  prefix_cache_.insert(forward_->capture(ids, past));
  ++prefix_stats_.entries_computed;
  return PrefixStatus::kComputed;
}

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::vector<int32_t>>& seqs,
                                                std::vector<int64_t>* reused_tokens) {
  const int64_t E = model_.config.n_embd;
  std::vector<std::vector<float>> out(seqs.size());
  if (reused_tokens) reused_tokens->assign(seqs.size(), 0);
  size_t i = 0;
  while (i < seqs.size()) {
    // Greedy token-budget batch in input order; one input longer than the budget runs alone.
    std::vector<std::span<const int32_t>> batch;
    std::vector<PrefixMatch> past;
    int64_t tokens = 0;
    size_t first = i;
    while (i < seqs.size() &&
           (batch.empty() || tokens + static_cast<int64_t>(seqs[i].size()) <= options_.max_batch_tokens)) {
      check_ids(seqs[i], model_.config.n_vocab, "input " + std::to_string(i));
      if (seqs[i].empty()) throw Error("input " + std::to_string(i) + " has no tokens");
      batch.emplace_back(seqs[i]);
      // At most n-1 positions: the last token is the pooled one and must go through the layers.
      past.push_back(prefix_cache_.find(seqs[i], static_cast<int64_t>(seqs[i].size()) - 1));
      if (past.back()) {
        ++prefix_stats_.inputs_reused;
        prefix_stats_.tokens_reused += past.back().n_tokens;
        if (reused_tokens) (*reused_tokens)[i] = past.back().n_tokens;
      }
      tokens += static_cast<int64_t>(seqs[i].size());
      ++i;
    }
    std::vector<float> pooled = forward_->run(batch, past);
    for (size_t j = 0; j < batch.size(); ++j) {
      out[first + j].assign(pooled.begin() + static_cast<int64_t>(j) * E,
                            pooled.begin() + static_cast<int64_t>(j + 1) * E);
    }
  }
  return out;
}

}  // namespace qembed
