#pragma once
// Text in, vectors out: tokenization with prompts/EOS/limits, token-budget batching over the forward pass, and
// pooling finalization. The CLI uses it directly; the server's worker owns one. It also owns the prefix cache:
// callers name the prompts worth keeping (remember_prefix) and embed() starts every sequence from the longest
// cached run of its leading token ids. Single-threaded use.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/forward_pass.hpp"
#include "engine/prefix_cache.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

struct EmbedderOptions {
  int n_threads = 0;                                //!< 0: all hardware threads
  int64_t max_batch_tokens = 8192;                  //!< tokens per forward batch (a longer single input runs alone)
  int64_t chunk_tokens = 512;                       //!< activation chunk inside a batch
  int64_t prefix_cache_bytes = int64_t{256} << 20;  //!< K/V kept for remembered prefixes; 0 disables the cache
};

//! What remember_prefix() found.
enum class PrefixStatus {
  kCached,        //!< an entry already covered the ids
  kComputed,      //!< the model ran and the entry was stored
  kNotCacheable,  //!< too short, too long or the cache is disabled: nothing done
};

//! What the prefix cache saved since the Embedder was made.
struct PrefixStats {
  int64_t inputs_reused = 0;     //!< sequences that started from a cached entry
  int64_t tokens_reused = 0;     //!< positions whose K/V came from the cache instead of the layers
  int64_t entries_computed = 0;  //!< remember_prefix calls that ran the model (the prefix was not cached)
};

class Embedder {
 public:
  Embedder(const Model& model, const EmbedderOptions& options);
  ~Embedder();

  const Model& model() const { return model_; }
  int n_threads() const;
  int64_t max_batch_tokens() const { return options_.max_batch_tokens; }

  //! The ids the model sees for `text` (prompt already applied by the caller): tokens + EOS, within `max_tokens`
  //! (0: the model's context) or truncated when `truncate`. Errors name `input_index`.
  std::vector<int32_t> tokenize(std::string_view text, bool truncate, int64_t input_index,
                                int64_t max_tokens = 0) const;

  //! Pooled (output-normed, not normalized) vectors, one per sequence, (n_embd) each, in input order. Sequences are
  //! grouped into forward batches of at most max_batch_tokens (counted with their cached positions, which occupy
  //! K/V rows like computed ones). Each sequence reuses the best cached prefix; when `reused_tokens` is given it
  //! receives, per sequence, how many of its positions came from the cache. The vectors do not depend on it.
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& seqs,
                                        std::vector<int64_t>* reused_tokens = nullptr);

  //! Makes sure the K/V of `ids` (a prompt's tokens, without EOS) are cached, computing them now if no entry
  //! covers them. Ids too short to be worth it (< PrefixCache::kMinMatchTokens), longer than the context or larger
  //! than the cache budget are not cacheable. Throws Error for ids outside the vocabulary.
  PrefixStatus remember_prefix(std::vector<int32_t> ids);

  const PrefixCache& prefix_cache() const { return prefix_cache_; }
  const PrefixStats& prefix_stats() const { return prefix_stats_; }

 private:
  const Model& model_;
  EmbedderOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ForwardPass> forward_;
  PrefixCache prefix_cache_;
  PrefixStats prefix_stats_;
};

}  // namespace qembed
