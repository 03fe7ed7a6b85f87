#pragma once
// A bounded, thread-safe memo of piece -> token ids. Natural text repeats its words, so most pieces skip the
// merge loop. Sharded by hash so concurrent encode() calls rarely wait on the same lock.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qembed {

class PieceCache {
 public:
  //! `max_entries` bounds memory: a shard that fills up is cleared (cheap, and correct since it is only a memo).
  //! Worst case (every entry a 256-byte piece of 256 ids) is about max_entries * 1.4 kB = 45 MB at the default;
  //! natural text averages under 100 bytes an entry.
  explicit PieceCache(size_t max_entries = 1 << 15);

  //! Appends the cached ids of `piece` to `out`; false when absent.
  bool lookup(std::string_view piece, std::vector<int32_t>& out) const;
  void insert(std::string_view piece, const int32_t* ids, size_t n_ids) const;

  static constexpr size_t kMaxPieceBytes = 256;  //!< longer pieces are rare and not worth storing

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 16;
  Shard& shard_of(std::string_view piece) const;

  size_t max_per_shard_;
  mutable Shard shards_[kShards];
};

}  // namespace qembed
