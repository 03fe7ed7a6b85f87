#pragma once
// `kb check`: the store, its keyword index and a collection's vector index agree (counts and ids). Each line names
// one kind of disagreement and up to 20 ids.
#include <string>
#include <vector>

#include "kb/store/store.hpp"
#include "kb/store/vector_index.hpp"

namespace qembed::kb {

struct ConsistencyReport {
  std::vector<std::string> problems;  //!< empty: clean
  bool clean() const { return problems.empty(); }
};

//! Store::check_integrity() plus, for each given collection index, its ids against the store's searchable chunks
//! (those of indexed documents). `index` may be null (store only).
ConsistencyReport check_consistency(Store& store, int64_t collection_id, const VectorIndex* index);

}  // namespace qembed::kb
