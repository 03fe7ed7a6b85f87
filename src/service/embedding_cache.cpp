#include "service/embedding_cache.hpp"

namespace qembed::service {

namespace {
// A list node (two pointers + Entry's string and vector headers) and a table node (view, iterator, hash, next),
// rounded up: what the allocator hands out besides the key and the floats.
constexpr int64_t kEntryOverheadBytes = 160;
}  // namespace

EmbeddingCache::EmbeddingCache(int64_t budget_bytes, ServiceStats* stats)
    : budget_bytes_(budget_bytes), stats_(stats) {}

int64_t EmbeddingCache::entry_bytes(size_t key_bytes, size_t n_floats) {
  return static_cast<int64_t>(key_bytes + n_floats * sizeof(float)) + kEntryOverheadBytes;
}

std::optional<std::vector<float>> EmbeddingCache::get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->pooled;
}

void EmbeddingCache::put(const std::string& key, std::span<const float> pooled) {
  const int64_t need = entry_bytes(key.size(), pooled.size());
  if (need > budget_bytes_) return;
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    // Already there (two requests computed the same ids at once): the same bits, so only its recency changes.
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (bytes_ + need > budget_bytes_ && !lru_.empty()) {
    const Entry& victim = lru_.back();
    bytes_ -= victim.bytes;
    index_.erase(victim.key);
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(Entry{key, std::vector<float>(pooled.begin(), pooled.end()), need});
  index_.emplace(lru_.front().key, lru_.begin());
  bytes_ += need;
  publish();
}

void EmbeddingCache::publish() {
  if (!stats_) return;
  stats_->cache_bytes = bytes_;
  stats_->cache_entries = static_cast<int64_t>(lru_.size());
  stats_->cache_evictions_total = evictions_;
}

int64_t EmbeddingCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

int64_t EmbeddingCache::entries() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(lru_.size());
}

int64_t EmbeddingCache::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

}  // namespace qembed::service
