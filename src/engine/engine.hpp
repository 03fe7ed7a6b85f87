#pragma once
// Token ids in, pooled vectors out, over a Backend: checks ids against the vocabulary and context, cuts sequences
// into token-budget batches, starts each sequence from the longest cached prefix (the prefix cache lives here,
// its K/V are the backend's), and runs the batches. It never sees text: prompts, tokenization, truncation and
// finishing vectors belong to the service layer. Single-threaded use (the service's batcher owns it).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/backend.hpp"
#include "engine/prefix_cache.hpp"
#include "model/qwen3_config.hpp"

namespace qembed {

struct EngineOptions {
  int64_t max_batch_tokens = 8192;                  //!< tokens per forward batch (a longer single input runs alone)
  int64_t prefix_cache_bytes = int64_t{256} << 20;  //!< K/V kept for remembered prefixes; 0 disables the cache
  OutputHead head = OutputHead::kLastTokenPooled;   //!< what every forward pass returns (a reranker: kRankLogits)
};

//! What remember_prefix() found.
enum class PrefixStatus {
  kCached,        //!< an entry already covered the ids
  kComputed,      //!< the model ran and the entry was stored
  kNotCacheable,  //!< too short, too long or the cache is disabled: nothing done
};

//! What the prefix cache saved since the Engine was made.
struct PrefixStats {
  int64_t inputs_reused = 0;     //!< sequences that started from a cached entry
  int64_t tokens_reused = 0;     //!< positions whose K/V came from the cache instead of the layers
  int64_t entries_computed = 0;  //!< remember_prefix calls that ran the model (the prefix was not cached)
};

class Engine {
 public:
  //! `config`: the model's shape (vocabulary, context, layers) for checks; the backend computes.
  Engine(std::unique_ptr<Backend> backend, const Qwen3Config& config, const EngineOptions& options);
  ~Engine();

  Backend& backend() { return *backend_; }
  const Backend& backend() const { return *backend_; }
  const Qwen3Config& config() const { return config_; }
  int64_t max_batch_tokens() const { return options_.max_batch_tokens; }
  OutputHead head() const { return options_.head; }
  //! Values per sequence in the output: n_embd for pooled vectors, 2 for rank logits.
  int64_t output_width() const { return qembed::output_width(options_.head, config_.n_embd); }

  //! The head's output per sequence — pooled (output-normed, not normalized) vectors (n_embd), or rank logits (2) —
  //! in input order. Sequences are
  //! grouped into forward batches of at most max_batch_tokens (counted with their cached positions, which occupy
  //! K/V rows like computed ones). Each sequence reuses the best cached prefix; when `reused_tokens` is given it
  //! receives, per sequence, how many of its positions came from the cache. The vectors do not depend on it.
  //! Throws Error naming the sequence for an empty one or an id outside the vocabulary.
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& seqs,
                                        std::vector<int64_t>* reused_tokens = nullptr);

  //! Starts one forward batch of `seqs` (already cut to the budget by the caller) with the best cached prefix of
  //! each, for callers that interleave tasks step by step (the service's batcher). Same checks as embed().
  std::unique_ptr<ForwardTask> start(const std::vector<std::span<const int32_t>>& seqs,
                                     std::vector<int64_t>* reused_tokens = nullptr);

  //! Makes sure the K/V of `ids` (a prompt's tokens, without EOS) are cached, computing them now if no entry
  //! covers them. Ids too short to be worth it (< PrefixCache::kMinMatchTokens), longer than the context or larger
  //! than the cache budget are not cacheable. Throws Error for ids outside the vocabulary.
  PrefixStatus remember_prefix(std::vector<int32_t> ids);

  const PrefixCache& prefix_cache() const { return prefix_cache_; }
  const PrefixStats& prefix_stats() const { return prefix_stats_; }

 private:
  std::unique_ptr<Backend> backend_;
  Qwen3Config config_;
  EngineOptions options_;
  PrefixCache prefix_cache_;
  PrefixStats prefix_stats_;
};

}  // namespace qembed
