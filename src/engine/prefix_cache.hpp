#pragma once
// Keys/values of token sequences that many inputs start with (an instruction prompt), kept so the forward pass
// computes only what follows them. Causal attention makes the K/V of positions 0..p-1 a function of token ids
// 0..p-1 alone, so an entry serves every sequence that shares a leading run of token ids with it — matched on ids,
// never on text, because the tokenization at the prompt/text boundary changes with the text ("Query:" + "word"
// can pretokenize as "Query" ":word"). Memory is bounded by a byte budget with least-recently-used eviction.
// Not thread-safe: the Engine that owns it is used from one thread.
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace qembed {

//! A cached prefix as the engine sees it: the token ids whose keys/values a backend keeps. The K/V themselves
//! (every layer's, post-k-norm and post-RoPE: what attention reads) are the backend's, in its own layout and
//! memory (host f32 for the CPU backend's CpuPrefixEntry, device memory for a GPU one); only the backend that
//! made an entry reads them.
class PrefixEntry {
 public:
  explicit PrefixEntry(std::vector<int32_t> token_ids) : ids(std::move(token_ids)) {}
  virtual ~PrefixEntry() = default;
  PrefixEntry(const PrefixEntry&) = delete;
  PrefixEntry& operator=(const PrefixEntry&) = delete;

  std::vector<int32_t> ids;  //!< (n_tokens) the sequence the K/V belong to
  int64_t n_tokens() const { return static_cast<int64_t>(ids.size()); }
  //! What the entry holds in any memory (its K/V plus its ids): what the cache's budget counts. Equals the
  //! backend's prefix_entry_bytes(n_tokens()).
  virtual int64_t bytes() const = 0;
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
  //! Whether an entry of `entry_bytes` (Backend::prefix_entry_bytes) could be stored at all (fits the budget on
  //! its own).
  bool fits(int64_t entry_bytes) const { return entry_bytes > 0 && entry_bytes <= budget_bytes_; }
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
  // tokens' K/V (224 KiB a token on the 0.6B shape in f32), i.e. tens of entries, against a per-batch forward pass.
  std::list<std::shared_ptr<const PrefixEntry>> lru_;
};

}  // namespace qembed
