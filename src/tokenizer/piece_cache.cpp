#include "tokenizer/piece_cache.hpp"

namespace qembed {

PieceCache::PieceCache(size_t max_entries) : max_per_shard_(max_entries / kShards + 1) {}

PieceCache::Shard& PieceCache::shard_of(std::string_view piece) const {
  // Mix the high bits in: the map itself uses the low bits of the same hash.
  const size_t h = std::hash<std::string_view>{}(piece);
  return shards_[(h >> 32 ^ h >> 16) % kShards];
}

bool PieceCache::lookup(std::string_view piece, std::vector<int32_t>& out) const {
  Shard& shard = shard_of(piece);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.map.find(piece);
  if (it == shard.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void PieceCache::insert(std::string_view piece, const int32_t* ids, size_t n_ids) const {
  if (piece.size() > kMaxPieceBytes) return;
  Shard& shard = shard_of(piece);
  std::lock_guard lock(shard.mutex);
  if (shard.map.size() >= max_per_shard_) shard.map.clear();
  shard.map.try_emplace(std::string(piece), ids, ids + n_ids);
}

}  // namespace qembed
