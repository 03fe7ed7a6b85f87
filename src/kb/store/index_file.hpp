#pragma once
// A collection's vector index beside its database: `<db>.<collection id>.hnsw` (+ `.meta`). Opening reads every
// vector from the store (they are the rows searched exactly and the truth the graph must agree with), then loads the
// saved graph when it exists and matches, reconciles it with the store when it is stale (labels added or marked
// deleted), and builds and saves it again when it is missing, unreadable or mostly stale.
#include <memory>
#include <string>

#include "kb/store/store.hpp"
#include "kb/store/vector_index.hpp"

namespace qembed::kb {

//! `<db_path>.<collection_id>.hnsw`: by id, since ids are never reused and names may hold any character.
std::string vector_index_path(const std::string& db_path, int64_t collection_id);

struct IndexOpenReport {
  enum class How {
    kExact,    //!< below the HNSW threshold: exact search only, no graph file used
    kLoaded,   //!< the saved graph matched the store
    kUpdated,  //!< the saved graph was stale and was reconciled (then saved again)
    kBuilt,    //!< the graph was built from the stored vectors (then saved)
  };
  How how = How::kExact;
  size_t reconciled = 0;  //!< labels added or deleted while reconciling
  std::string reason;     //!< why it was built or updated
};

//! Opens the index of `collection` (see above). `index_path` empty: nothing is loaded or saved. Errors: the
//! store's, and kIo when the graph cannot be saved.
std::unique_ptr<VectorIndex> open_vector_index(Store& store, const Collection& collection,
                                               const std::string& index_path, const VectorIndexOptions& options,
                                               IndexOpenReport* report = nullptr);

//! Replays the store's changes after index.seq() (another process's commits and deletions, or this one's) and
//! builds the graph when the index grew past the threshold. Returns how many changes were applied.
size_t refresh_vector_index(Store& store, int64_t collection_id, VectorIndex& index);

}  // namespace qembed::kb
