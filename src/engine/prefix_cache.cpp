#include "engine/prefix_cache.hpp"

#include <algorithm>

namespace qembed {

PrefixMatch PrefixCache::find(std::span<const int32_t> seq, int64_t max_tokens) {
  PrefixMatch best;
  auto best_it = lru_.end();
  const auto limit = std::min(static_cast<int64_t>(seq.size()), max_tokens);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    const std::vector<int32_t>& ids = (*it)->ids;
    const int64_t n = std::min(limit, static_cast<int64_t>(ids.size()));
    int64_t common = 0;
    while (common < n && ids[common] == seq[common]) ++common;
    if (common > best.n_tokens) {
      best = {*it, common};
      best_it = it;
    }
  }
  if (best.n_tokens < kMinMatchTokens) return {};
  lru_.splice(lru_.begin(), lru_, best_it);
  return best;
}

void PrefixCache::insert(std::shared_ptr<const PrefixEntry> entry) {
  const int64_t need = entry->bytes();
  if (need > budget_bytes_) return;
  // The same ids stored twice would only waste budget: the newer copy replaces the older.
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if ((*it)->ids == entry->ids) {
      bytes_ -= (*it)->bytes();
      lru_.erase(it);
      break;
    }
  }
  make_room(need);
  bytes_ += need;
  lru_.push_front(std::move(entry));
}

void PrefixCache::make_room(int64_t bytes) {
  while (!lru_.empty() && bytes_ + bytes > budget_bytes_) {
    bytes_ -= lru_.back()->bytes();
    lru_.pop_back();
    ++evictions_;
  }
}

void PrefixCache::clear() {
  lru_.clear();
  bytes_ = 0;
}

}  // namespace qembed
