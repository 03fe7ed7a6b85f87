#include "kb/store/consistency.hpp"

#include <algorithm>
#include <iterator>

namespace qembed::kb {
namespace {

std::string first_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < 20; ++i) {
    if (i) out += ", ";
    out += std::to_string(ids[i]);
  }
  if (ids.size() > 20) out += ", ... (" + std::to_string(ids.size()) + " in all)";
  return out;
}

}  // namespace

ConsistencyReport check_consistency(Store& store, int64_t collection_id, const VectorIndex* index) {
  ConsistencyReport report;
  report.problems = store.check_integrity();
  if (!index) return report;
  const std::vector<int64_t> stored = store.filter_chunk_ids(collection_id, SearchFilter{});
  const std::vector<int64_t> indexed = index->ids();
  std::vector<int64_t> missing, extra;
  std::set_difference(stored.begin(), stored.end(), indexed.begin(), indexed.end(), std::back_inserter(missing));
  std::set_difference(indexed.begin(), indexed.end(), stored.begin(), stored.end(), std::back_inserter(extra));
  if (!missing.empty()) report.problems.push_back("chunk missing from the vector index: " + first_ids(missing));
  if (!extra.empty()) report.problems.push_back("vector index entry without a stored chunk: " + first_ids(extra));
  return report;
}

}  // namespace qembed::kb
