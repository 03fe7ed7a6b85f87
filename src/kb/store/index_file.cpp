#include "kb/store/index_file.hpp"

#include <filesystem>

namespace qembed::kb {

std::string vector_index_path(const std::string& db_path, int64_t collection_id) {
  return db_path + "." + std::to_string(collection_id) + ".hnsw";
}

std::unique_ptr<VectorIndex> open_vector_index(Store& store, const Collection& collection,
                                               const std::string& index_path, const VectorIndexOptions& options,
                                               IndexOpenReport* report) {
  IndexOpenReport local;
  IndexOpenReport& r = report ? *report : local;
  r = {};
  auto index = std::make_unique<VectorIndex>(static_cast<size_t>(collection.settings.dimensions),
                                             collection.settings.vector_type, options);
  const int64_t seq = store.scan_vectors(collection.id, [&](const StoredVector& v) { index->add(v); });
  index->set_seq(seq);
  if (index->size() < options.hnsw_threshold) return index;

  if (!index_path.empty()) {
    size_t reconciled = 0;
    const int64_t saved_seq = index->load(index_path, &reconciled);
    if (saved_seq < 0) {
      r.reason =
          std::filesystem::exists(index_path) ? "saved graph unreadable or not for this collection" : "no saved graph";
    } else if (reconciled * 2 > index->size()) {
      r.reason = "saved graph mostly stale (" + std::to_string(reconciled) + " labels differ)";
    } else if (reconciled > 0 || saved_seq != seq) {
      r.how = IndexOpenReport::How::kUpdated;
      r.reconciled = reconciled;
      r.reason = "saved at change " + std::to_string(saved_seq) + ", store at " + std::to_string(seq);
      index->maintain();  // rebuilds when the loaded graph is mostly deleted
      index->save(index_path);
      return index;
    } else {
      r.how = IndexOpenReport::How::kLoaded;
      return index;
    }
  } else {
    r.reason = "no index path";
  }
  r.how = IndexOpenReport::How::kBuilt;
  index->build_hnsw();
  if (!index_path.empty()) index->save(index_path);
  return index;
}

size_t refresh_vector_index(Store& store, int64_t collection_id, VectorIndex& index) {
  size_t applied = 0;
  for (;;) {
    const std::vector<VectorChange> changes = store.changes_since(collection_id, index.seq(), 1000);
    if (changes.empty()) break;
    for (const VectorChange& change : changes) {
      if (change.added) {
        store.scan_vector_range(collection_id, change.first_chunk_id, change.last_chunk_id, [&](const StoredVector& v) {
          if (!index.contains(v.chunk_id)) index.add(v);
        });
      } else {
        for (int64_t id = change.first_chunk_id; id <= change.last_chunk_id; ++id) index.remove(id);
      }
      index.set_seq(change.seq);
      ++applied;
    }
  }
  index.maintain();
  return applied;
}

}  // namespace qembed::kb
