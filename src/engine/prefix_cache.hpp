#pragma once
// Keys/values of token sequences that many inputs start with (an instruction prompt), kept so the forward pass
// computes only what follows them. Causal attention makes the K/V of positions 0..p-1 a function of token ids
// 0..p-1 alone, so an entry serves every sequence that shares a leading run of token ids with it — matched on ids,
// never on text, because the tokenization at the prompt/text boundary changes with the text ("Query:" + "word"
// can pretokenize as "Query" ":word"). Memory is bounded by a byte budget with least-recently-used eviction.
// Not thread-safe: the Embedder that owns it is used from one thread.
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

namespace qembed {

//! Every layer's keys and values of one token sequence, post-k-norm and post-RoPE (what attention reads), f32.
struct PrefixEntry {
  std::vector<int32_t> ids;  //!< (n_tokens) the sequence the K/V belong to
  int64_t n_layer = 0, kv_dim = 0;
  std::vector<float> kv;  //!< (n_layer, 2, n_tokens, kv_dim): per layer its K rows, then its V rows

  PrefixEntry(std::vector<int32_t> token_ids, int64_t layers, int64_t kv_width);
  int64_t n_tokens() const { return static_cast<int64_t>(ids.size()); }
  float* k(int64_t layer) { return kv.data() + (2 * layer) * n_tokens() * kv_dim; }
  float* v(int64_t layer) { return kv.data() + (2 * layer + 1) * n_tokens() * kv_dim; }
  const float* k(int64_t layer) const { return kv.data() + (2 * layer) * n_tokens() * kv_dim; }
  const float* v(int64_t layer) const { return kv.data() + (2 * layer + 1) * n_tokens() * kv_dim; }
  //! What an entry of n_tokens costs: its K/V plus its ids.
  static int64_t bytes_for(int64_t n_tokens, int64_t n_layer, int64_t kv_dim);
  int64_t bytes() const { return bytes_for(n_tokens(), n_layer, kv_dim); }
};

//! A sequence's reusable start: its first n_tokens positions come from `entry` (n_tokens <= entry->n_tokens()).
struct PrefixMatch {
  std::shared_ptr<const PrefixEntry> entry;
  int64_t n_tokens = 0;
  explicit operator bool() const { return entry != nullptr && n_tokens > 0; }
};

class PrefixCache {
 public:
  //! Shorter matches are not worth the copy of the cached rows nor an entry's memory.
  static constexpr int64_t kMinMatchTokens = 4;

  explicit PrefixCache(int64_t budget_bytes) : budget_bytes_(budget_bytes > 0 ? budget_bytes : 0) {}

  bool enabled() const { return budget_bytes_ > 0; }
  int64_t budget_bytes() const { return budget_bytes_; }
  int64_t bytes() const { return bytes_; }
  int64_t n_entries() const { return static_cast<int64_t>(lru_.size()); }
  int64_t evictions() const { return evictions_; }

  //! The entry sharing the longest run of leading token ids with `seq`, capped at `max_tokens`; an empty match
  //! when that run is shorter than kMinMatchTokens. A match marks its entry most recently used.
  PrefixMatch find(std::span<const int32_t> seq, int64_t max_tokens);
  //! Whether an entry of n_tokens could be stored at all (fits the budget on its own).
  bool fits(int64_t n_tokens, int64_t n_layer, int64_t kv_dim) const;
  //! Stores an entry as the most recently used, evicting least recently used ones until the total fits the
  //! budget. An entry that does not fit on its own is not stored.
  void insert(std::shared_ptr<const PrefixEntry> entry);
  //! Evicts least recently used entries until `bytes` more fit (before computing an entry, so the cache and the
  //! entry being computed stay within the budget together).
  void make_room(int64_t bytes);
  void clear();

 private:
  int64_t budget_bytes_;
  int64_t bytes_ = 0;
  int64_t evictions_ = 0;
  // Most recently used first. A linear scan is enough: the budget holds a few hundred to a few thousand prompt
  // tokens' K/V (224 KiB a token on the 0.6B shape), i.e. tens of entries, against a per-batch forward pass.
  std::list<std::shared_ptr<const PrefixEntry>> lru_;
};

}  // namespace qembed
