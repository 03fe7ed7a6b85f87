#pragma once
// Search over a collection: vector (the query embedded with the collection's instruction at interactive priority,
// then the in-memory index of kb/store/vector_index.hpp), keyword (BM25 over the analysed chunk text, kb/text) and
// hybrid (reciprocal rank fusion of the two lists, weights per query). Hits carry everything a citation needs: the
// chunk text, document, page, section path, code-point offsets and highlight ranges.
//
// Each collection's vector index is opened on first use (loaded, reconciled or built; kb/store/index_file.hpp) and
// refreshed from the store's change log before each search, so documents committed by this process or another one
// are searchable as soon as their commit returns.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/store/index_file.hpp"
#include "kb/store/store.hpp"
#include "kb/store/vector_index.hpp"

namespace qembed::service {
class EmbeddingService;
}

namespace qembed::kb {

enum class SearchMode { kHybrid, kVector, kKeyword };
const char* search_mode_name(SearchMode mode);                       //!< "hybrid", "vector", "keyword"
std::optional<SearchMode> parse_search_mode(std::string_view name);  //!< inverse

struct SearchRequest {
  std::string query;
  SearchMode mode = SearchMode::kHybrid;
  int32_t top_k = 10;  //!< 1..1000
  //! Hybrid: weights of the vector and keyword lists in the fusion (>= 0, not both 0).
  double vector_weight = 1, keyword_weight = 1;
  SearchFilter filter;
  //! Vector search breadth (HNSW ef); 0: the index's default.
  size_t ef = 0;
  bool exact = false;  //!< vector: the exact scan even when a graph exists (the reference)
  //! Rerank the retrieved candidates with the reranker (kb/rerank_stage.hpp); nullopt: the collection's default.
  std::optional<bool> rerank;
  //! Reranking: candidates retrieved (with `mode`) and scored, max(rerank_candidates, top_k); 1..1000.
  int32_t rerank_candidates = 50;
};

//! One passage.
struct SearchHit {
  int32_t rank = 0;  //!< 1 = best
  double score = 0;  //!< vector: cosine; keyword: BM25 (higher is better); hybrid: the fused score
  std::optional<double> vector_score, keyword_score;
  std::optional<int32_t> vector_rank, keyword_rank;  //!< 1-based places in each list (hybrid)
  //! Reranked searches: the reranker's P(relevant) in [0, 1] (hits are in its order; `score` stays the retrieval
  //! score) and the hit's place before reranking.
  std::optional<double> rerank_score;
  std::optional<int32_t> retrieval_rank;
  int64_t chunk_id = 0;
  int64_t document_id = 0;
  std::string document;  //!< the document name
  std::string format;
  std::string metadata_json;
  int32_t page_first = 0, page_last = 0;  //!< 0 for formats without pages
  std::string section;                    //!< heading path joined with " > "
  std::string text;                       //!< the chunk text
  int64_t start = 0, end = 0;             //!< the chunk's code-point span in the document's extracted text
  //! Code-point ranges [start, end) inside `text` matching the query's keyword terms.
  std::vector<std::pair<int64_t, int64_t>> highlights;
};

struct SearchResults {
  std::vector<SearchHit> hits;
  int64_t query_tokens = 0;  //!< tokens of the embedded query (0 for keyword mode)
  double embed_ms = 0, search_ms = 0;
  bool reranked = false;       //!< the hits were reranked (kb/rerank_stage.hpp)
  double rerank_ms = 0;        //!< the rerank stage (0 without one)
  int64_t rerank_tokens = 0;   //!< tokens through the reranker
};

//! Reciprocal rank fusion: each list contributes weight / (kRrfK + rank) for the ids it has (rank from 1).
inline constexpr double kRrfK = 60;
struct FusedId {
  int64_t id = 0;
  double score = 0;
  std::optional<int32_t> rank_a, rank_b;
};
std::vector<FusedId> fuse_ranks(const std::vector<int64_t>& list_a, double weight_a,
                                const std::vector<int64_t>& list_b, double weight_b, size_t k);

class Searcher {
 public:
  //! `reranker` (nullable): a service loaded as a Qwen3-Reranker, for requests that rerank.
  Searcher(Store& store, std::string db_path, service::EmbeddingService* service, const VectorIndexOptions& options,
           int threads, service::EmbeddingService* reranker = nullptr);
  ~Searcher();

  //! Searches a collection, reranking the candidates when the request (or else the collection) says so. Errors
  //! (kInvalidInput): empty query, top_k or rerank_candidates out of range, bad weights, reranking without a
  //! reranker (kNoRerankerMessage); the services' errors for the query (kLimit when busy).
  SearchResults search(const Collection& collection, const SearchRequest& request);
  //! The same with the query's vector already computed (the collection's dimensions, L2-normalised): for callers
  //! that embed elsewhere, and benchmarks that time the search alone. Keyword mode ignores it.
  SearchResults search_with_vector(const Collection& collection, const SearchRequest& request,
                                   std::span<const float> query_vector);
  //! Whether `request` reranks on `collection` (its own choice, else the collection's default).
  static bool reranks(const Collection& collection, const SearchRequest& request) {
    return request.rerank.value_or(collection.settings.rerank);
  }
  service::EmbeddingService* reranker() const { return reranker_; }
  //! Vector search with a ready query vector (benchmarks, precomputed queries).
  std::vector<VectorHit> search_vector(const Collection& collection, std::span<const float> query,
                                       const SearchRequest& request);
  //! Turns chunk ids with scores into hits (document, text, offsets, highlights for `query`); ids whose document
  //! does not pass `filter` are dropped.
  std::vector<SearchHit> make_hits(const std::vector<std::pair<int64_t, double>>& scored, std::string_view query,
                                   const SearchFilter& filter);

  //! The collection's index, opened (loaded, reconciled or built) on first use and refreshed from the change log.
  std::shared_ptr<VectorIndex> index(const Collection& collection, IndexOpenReport* report = nullptr);
  //! Forgets a collection's index (after it was deleted or reindexed).
  void drop_index(int64_t collection_id);
  //! Whether the index is open (for /health: 503 until ready).
  bool index_ready(int64_t collection_id) const;

 private:
  struct Slot;
  Slot& slot(int64_t collection_id);
  //! Retrieval alone: the best request.top_k hits of `mode`.
  SearchResults retrieve(const Collection& collection, const SearchRequest& request,
                         std::span<const float> query_vector);
  Store& store_;
  std::string db_path_;
  service::EmbeddingService* service_;
  service::EmbeddingService* reranker_;
  VectorIndexOptions options_;
  int threads_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::unique_ptr<Slot>> slots_;
};

}  // namespace qembed::kb
