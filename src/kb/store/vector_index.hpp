#pragma once
// In-memory vector search over one collection (FAISS's contract: add vectors with ids, search top-k by inner
// product on L2-normalised vectors). Two searchers over the same rows:
//   exact   a flat scan with a top-k heap (1..n threads), always available: the reference every approximate
//           result is measured against, and the searcher below `hnsw_threshold` vectors or for small filters;
//   HNSW    hnswlib (inner-product space) once the collection reaches `hnsw_threshold` vectors; deletions are
//           hnswlib's markDelete, additions addPoint; rebuilt when more than half of it is deleted.
// Labels are chunk ids (never reused by the store).
//
// Memory: one copy of the points. f32 and f16 collections are held as f32 rows (f16 decoded); int8 collections as
// int8 codes + one scale per row, searched with int8 dot products (the query quantized the same way), the top
// candidates then rescored in f32 with the originals read from the store (RescoreFn). Once the graph is built the
// points live only inside hnswlib (its level-0 records), and the exact scan reads them there.
//
// Thread safety: any number of concurrent searches; add/remove/build take an exclusive lock.
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kb/store/store.hpp"

namespace qembed::kb {

struct VectorIndexOptions {
  size_t hnsw_threshold = 20000;  //!< build the HNSW graph from this many vectors on
  size_t hnsw_m = 16;             //!< graph degree (hnswlib M)
  size_t hnsw_ef_construction = 200;
  //! hnswlib's level generator: the same inputs in the same order give the same graph (with build_threads 1).
  uint64_t seed = 100;
  //! Threads inserting into the graph when it is built (build_hnsw/maintain/open): 0 = every hardware thread.
  //! More than one makes the graph depend on thread timing (equally good, not bit-identical).
  size_t build_threads = 0;
};

struct VectorHit {
  int64_t chunk_id = 0;
  float score = 0;  //!< inner product with the query (cosine for normalised vectors); higher is better
};

//! The f32 originals of the given chunk ids, row-major (n x dims): Store::load_vectors_f32 bound to a collection.
using RescoreFn = std::function<std::vector<float>(std::span<const int64_t> chunk_ids)>;

struct VectorSearchOptions {
  enum class Mode { kAuto, kExact, kApprox };
  size_t k = 10;
  Mode mode = Mode::kAuto;        //!< kAuto: HNSW when built, else exact. kApprox without a graph searches exactly.
  size_t ef = 0;                  //!< HNSW search breadth; 0: max(128, 2k)
  size_t rescore_candidates = 0;  //!< int8: candidates rescored in f32; 0: max(4k, 40)
  const std::vector<int64_t>* allowed = nullptr;  //!< sorted chunk ids a hit must be in (a filter); null: any
  int n_threads = 1;                              //!< threads for the exact scan
};

class VectorIndex {
 public:
  VectorIndex(size_t dims, VectorType type, const VectorIndexOptions& options = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  size_t dims() const { return dims_; }
  VectorType type() const { return type_; }
  size_t size() const;
  bool has_hnsw() const;
  //! The store change sequence the index reflects (set by whoever filled it).
  int64_t seq() const;
  void set_seq(int64_t seq);
  //! Sorted labels.
  std::vector<int64_t> ids() const;
  bool contains(int64_t chunk_id) const;
  //! Heap bytes the index holds: the flat rows and label map, or the graph's allocation (level-0 records for its
  //! capacity, upper-level links, label map). Map nodes are counted at 48 bytes (libstdc++: node + bucket), an
  //! estimate; the rest is exact.
  size_t memory_bytes() const;

  //! Adds one vector in the store's encoding (Store::scan_vectors). Adding an id twice is an InternalError.
  void add(const StoredVector& vector);
  //! Adds an f32 vector, encoded for the index's type (int8: quantized).
  void add_f32(int64_t chunk_id, std::span<const float> values);
  //! Removes an id (no-op when absent).
  void remove(int64_t chunk_id);

  //! Builds the HNSW graph when the size reached the threshold and there is none, or when more than half of the
  //! graph is deleted. Returns whether it built one.
  bool maintain();
  //! Builds the graph now, whatever the size (tests, benchmarks).
  void build_hnsw();

  //! Top-k by inner product, best first. `query` must have dims() values. int8 indexes rescore with `rescore`
  //! when given, else return the int8 scores. Error kInvalidInput: wrong query size, a non-finite value, k == 0.
  std::vector<VectorHit> search(std::span<const float> query, const VectorSearchOptions& options,
                                const RescoreFn* rescore = nullptr) const;

  //! Writes the graph to `path` (hnswlib format) and a header to `path + ".meta"` (dims, type, seq, labels, the
  //! graph file's size), each through a temporary file and a rename. InternalError when there is no graph.
  void save(const std::string& path) const;
  //! Loads a graph saved by save() whose header matches this index's dims/type; returns the header's seq, or -1
  //! (and loads nothing) when the files are missing, unreadable or do not match. The graph's labels are then
  //! reconciled with the rows already added: labels not in the rows are marked deleted, rows not in the graph
  //! added. `reconciled` (optional) gets how many labels that changed.
  int64_t load(const std::string& path, size_t* reconciled = nullptr);

 private:
  struct Hnsw;
  struct PreparedQuery;
  size_t size_locked() const;
  bool contains_locked(int64_t chunk_id) const;
  void add_point_locked(int64_t chunk_id, const uint8_t* point);
  void hnsw_add_locked(int64_t chunk_id, const uint8_t* point);
  std::unique_ptr<Hnsw> new_hnsw(size_t capacity) const;  // capacity 0: the space only (for loading)
  void build_hnsw_locked();
  float score(const PreparedQuery& query, const uint8_t* point) const;
  std::vector<VectorHit> exact_locked(std::span<const float> query, size_t k, const std::vector<int64_t>* allowed,
                                      int n_threads) const;
  std::vector<VectorHit> hnsw_locked(std::span<const float> query, size_t k, size_t ef,
                                     const std::vector<int64_t>* allowed) const;

  size_t dims_;
  VectorType type_;
  //! One point: f32 collections (and f16, decoded) dims floats; int8: dims codes then the f32 scale. hnswlib
  //! stores the same bytes, so a graph and the flat rows are interchangeable.
  size_t point_bytes_;
  VectorIndexOptions options_;
  mutable std::shared_mutex mutex_;
  int64_t seq_ = 0;
  // Without a graph the points live here; once the graph is built they live only in the graph (these are emptied)
  // and the exact scan walks the graph's elements, skipping deleted ones.
  std::vector<int64_t> labels_;                  // (n)
  std::unordered_map<int64_t, size_t> slot_of_;  // label -> row
  std::vector<uint8_t> points_;                  // (n, point_bytes_)
  std::unique_ptr<Hnsw> hnsw_;
};

}  // namespace qembed::kb
