#pragma once
// The in-process level of the embedding cache: pooled vectors (before `dimensions`/normalization) by CacheKey
// bytes, least recently used evicted first to stay within a byte budget. Thread-safe: submit() looks up on the
// front end's threads, the batcher's worker inserts what it computed.
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "service/service_stats.hpp"

namespace qembed::service {

class EmbeddingCache {
 public:
  //! `stats` (may be null) gets the cache's bytes, entries and evictions after every change.
  EmbeddingCache(int64_t budget_bytes, ServiceStats* stats);

  //! The vector under `key` (a copy), marked most recently used; nullopt when absent.
  std::optional<std::vector<float>> get(const std::string& key);
  //! Stores `pooled` under `key` (replacing an older value), evicting the least recently used entries until the
  //! budget holds it; an entry larger than the whole budget is not stored.
  void put(const std::string& key, std::span<const float> pooled);

  int64_t bytes() const;
  int64_t entries() const;
  int64_t evictions() const;
  int64_t budget_bytes() const { return budget_bytes_; }
  //! What one entry counts against the budget: key, floats and the list/table nodes that hold them.
  static int64_t entry_bytes(size_t key_bytes, size_t n_floats);

 private:
  struct Entry {
    std::string key;
    std::vector<float> pooled;
    int64_t bytes = 0;
  };
  void publish();  // lock held

  const int64_t budget_bytes_;
  ServiceStats* stats_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;                                                    // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_'s keys
  int64_t bytes_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace qembed::service
