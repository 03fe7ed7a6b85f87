#pragma once
// Byte-level BPE merging: turns one pre-tokenized piece (raw bytes) into token ids by repeatedly merging the
// adjacent pair with the lowest merge rank, leftmost first on ties, exactly as HF tokenizers does.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace qembed {

class BpeMerger {
 public:
  //! Resolves every merge to token ids; throws Error when a merge or a byte symbol names a token that is not in
  //! the vocabulary. Added tokens (Control/UserDefined) take no part in merging.
  explicit BpeMerger(const VocabData& vocab);

  //! Appends the ids of `piece` (raw bytes, non-empty) to `out`. Cost O(n log n) in the piece length, so a
  //! hostile megabyte-long piece stays fast. Thread-safe (no mutable state).
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  // Open-addressing hash map (left_id, right_id) -> (rank, merged_id); the merge loop does one lookup per
  // candidate pair, so this is the hot path.
  struct MergeSlot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged_id = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  void insert_merge(int32_t left, int32_t right, int32_t rank, int32_t merged_id);
  const MergeSlot* find_merge(int32_t left, int32_t right) const;

  std::vector<MergeSlot> slots_;
  uint64_t slot_mask_ = 0;
  int32_t byte_ids_[256] = {};  //!< token id of each single byte
};

}  // namespace qembed
