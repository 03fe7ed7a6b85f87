#include "engine/backend.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace qembed {

int64_t PackedBatch::n_kv_rows() const {
  int64_t rows = n_tokens();
  for (const PrefixMatch& m : past) rows += m.n_tokens;
  return rows;
}

PackedBatch PackedBatch::pack(const std::vector<std::span<const int32_t>>& seqs,
                              const std::vector<PrefixMatch>& past) {
  if (!past.empty() && past.size() != seqs.size()) {
    throw InternalError("packed batch: " + std::to_string(past.size()) + " prefix matches for " +
                        std::to_string(seqs.size()) + " sequences");
  }
  PackedBatch b;
  b.seq_offsets.push_back(0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    const std::span<const int32_t> seq = seqs[s];
    const PrefixMatch m = past.empty() ? PrefixMatch{} : past[s];
    const int64_t p = m ? m.n_tokens : 0;
    const auto n = static_cast<int64_t>(seq.size());
    // The last token is pooled, so it is always computed; the cached ids must be this sequence's.
    if (p > 0 &&
        (p >= n || p > m.entry->n_tokens() || !std::equal(seq.begin(), seq.begin() + p, m.entry->ids.begin()))) {
      throw InternalError("packed batch: prefix cache entry does not match sequence " + std::to_string(s));
    }
    for (int64_t i = p; i < n; ++i) {
      b.token_ids.push_back(seq[static_cast<size_t>(i)]);
      b.positions.push_back(static_cast<int32_t>(i));
    }
    b.seq_offsets.push_back(b.n_tokens());
    b.past.push_back(p > 0 ? m : PrefixMatch{});
  }
  return b;
}

int64_t output_width(OutputHead head, int64_t n_embd) { return head == OutputHead::kRankLogits ? 2 : n_embd; }

std::vector<float> Backend::run(PackedBatch batch, OutputHead head) {
  std::unique_ptr<ForwardTask> task = start(std::move(batch), head);
  while (!task->step()) {
  }
  return task->take_output();
}

}  // namespace qembed
