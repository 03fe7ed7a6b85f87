#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "common/error.hpp"
#include "tokenizer/byte_level.hpp"

namespace qembed {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

uint64_t mix(uint64_t key) {
  // splitmix64 finalizer: ids are small dense integers, so spread them before masking.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebull;
  return key ^ (key >> 31);
}

bool is_added(TokenType t) { return t == TokenType::Control || t == TokenType::UserDefined; }

// A merge the loop may apply: the pair whose left symbol sits at `pos` (its original byte index, which is also
// the tie-breaker HF uses) merges into `merged_id` with priority `rank`.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t merged_id;
  // std heap functions build a max-heap; invert so the lowest (rank, pos) comes out first.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

BpeMerger::BpeMerger(const VocabData& vocab) {
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (i < vocab.token_types.size() && is_added(vocab.token_types[i])) continue;
    ids.emplace(vocab.tokens[i], static_cast<int32_t>(i));
  }
  // `context` builds the error message's prefix only when a lookup fails.
  const auto id_of = [&](const std::string& token, const auto& context) {
    const auto it = ids.find(token);
    if (it == ids.end()) throw Error(context() + ": token '" + token + "' is not in the vocabulary");
    return it->second;
  };
  for (int b = 0; b < 256; ++b) {
    byte_ids_[b] =
        id_of(byte_level::byte_to_utf8(static_cast<uint8_t>(b)), [&] { return "tokenizer byte " + std::to_string(b); });
  }

  size_t capacity = 16;
  while (capacity < vocab.merges.size() * 2) capacity *= 2;
  slots_.assign(capacity, MergeSlot{});
  slot_mask_ = capacity - 1;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    // Named references, not a structured binding: clang < 16 cannot capture bindings in the lambda below.
    const std::string& a = vocab.merges[rank].first;
    const std::string& b = vocab.merges[rank].second;
    const auto context = [&] { return "tokenizer merge #" + std::to_string(rank) + " '" + a + " " + b + "'"; };
    // Looked up one by one so the error names the first missing part, not whichever the compiler evaluates first.
    const int32_t left = id_of(a, context);
    const int32_t right = id_of(b, context);
    insert_merge(left, right, static_cast<int32_t>(rank), id_of(a + b, context));
  }
}

void BpeMerger::insert_merge(int32_t left, int32_t right, int32_t rank, int32_t merged_id) {
  const uint64_t key = pair_key(left, right);
  for (uint64_t i = mix(key) & slot_mask_;; i = (i + 1) & slot_mask_) {
    MergeSlot& slot = slots_[i];
    // A repeated merge takes its last rank, as HF tokenizers' map-building does (later entries overwrite).
    if (slot.key == key || slot.key == kEmpty) {
      slot = MergeSlot{key, rank, merged_id};
      return;
    }
  }
}

const BpeMerger::MergeSlot* BpeMerger::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  for (uint64_t i = mix(key) & slot_mask_;; i = (i + 1) & slot_mask_) {
    const MergeSlot& slot = slots_[i];
    if (slot.key == key) return &slot;
    if (slot.key == kEmpty) return nullptr;
  }
}

void BpeMerger::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const auto n = static_cast<int32_t>(piece.size());
  if (n == 1) {
    out.push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  // Symbols form a doubly linked list over the original byte positions; a merged symbol lives at the position
  // of its left part and the right part is unlinked. (n) each.
  std::vector<int32_t> id(n), prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    id[i] = byte_ids_[static_cast<uint8_t>(piece[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::vector<Candidate> heap;
  heap.reserve(n);
  const auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const MergeSlot* m = find_merge(id[pos], id[next[pos]])) {
      heap.push_back({m->rank, pos, m->merged_id});
      std::push_heap(heap.begin(), heap.end());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate c = heap.back();
    heap.pop_back();
    // Candidates are never removed when a neighbour merges; skip those whose pair no longer exists.
    if (id[c.pos] < 0 || next[c.pos] < 0) continue;
    const MergeSlot* m = find_merge(id[c.pos], id[next[c.pos]]);
    if (m == nullptr || m->rank != c.rank) continue;
    const int32_t right = next[c.pos];
    id[c.pos] = c.merged_id;
    id[right] = -1;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(id[i]);
}

}  // namespace qembed
