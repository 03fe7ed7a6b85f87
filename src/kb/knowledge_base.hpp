#pragma once
// The knowledge base: documents in, cited passages out. It joins extraction (kb/extract), chunking and keyword
// analysis (kb/text) and storage with its indexes (kb/store) to the embedding service (service/), and is what the
// CLI's `qembed kb ...` and the server's `/v1/kb/...` routes call. docs/kb.md describes the behaviour for users.
//
// Ingestion (kb/ingestion.hpp) runs in the background at bulk priority through the same scheduler as API traffic;
// search (kb/search.hpp) embeds its query at interactive priority. Every document's state lives in the store, so a
// killed process resumes its pending documents on the next start (resume_pending()).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/extract/extract.hpp"
#include "kb/ingestion.hpp"
#include "kb/search.hpp"
#include "kb/store/consistency.hpp"
#include "kb/store/store.hpp"
#include "kb/store/vector_index.hpp"

namespace qembed::service {
class EmbeddingService;
}

namespace qembed::kb {

struct KnowledgeBaseOptions {
  ExtractLimits limits;
  VectorIndexOptions index;
  int search_threads = 2;  //!< threads of an exact vector scan
  //! Ingestion: tokens of chunks submitted to the service and not yet committed (bounds memory and lets API
  //! traffic in); 0: 4 x the service's max_batch_tokens.
  int64_t max_inflight_tokens = 0;
};

//! What a user chooses when creating a collection (the model identity comes from the service).
struct CollectionRequest {
  std::string name;
  int32_t dimensions = 0;  //!< MRL: 0 = the model's native dimensions
  VectorType vector_type = VectorType::kF32;
  int32_t chunk_tokens = 512;
  int32_t overlap_tokens = 64;
  bool prepend_title = true;
  std::string query_instruction;  //!< "" = Qwen3's default web-search task
  bool rerank = false;            //!< searches rerank by default (SearchRequest::rerank overrides)
};

//! The model a service serves, as a collection records it.
ModelIdentity model_identity_of(const service::EmbeddingService& service);

//! Throws kInvalidInput naming both models when `collection` was built with another model than `model` (its
//! fingerprint differs, or its native dimensions): "collection 'docs' was built with model A (fingerprint ..., 1024
//! dimensions); the loaded model is B (...): use that model, or `qembed kb reindex` to re-embed the collection".
void check_collection_model(const Collection& collection, const ModelIdentity& model);

//! Precomputed chunks of one document (a migration from another vector database): text and vector per chunk.
struct ImportedChunk {
  std::string text;
  std::string section;  //!< heading path, " > "-joined; may be empty
  int32_t page = 0;
  std::vector<float> vector;  //!< the collection's dimensions; L2-normalised on import
};
struct ImportedDocument {
  std::string name;
  std::string metadata_json = "{}";
  std::vector<ImportedChunk> chunks;
};

class KnowledgeBase;
//! Whether a knowledge-base location is a PostgreSQL URL (postgresql:// or postgres://) rather than a file.
bool is_database_url(std::string_view location);
//! The location as logs and messages may show it: a URL without its password; a path unchanged.
std::string kb_display_location(std::string_view location);
//! Opens (creating when missing) the SQLite store at `db_path` — or, for a `postgresql://` / `postgres://` URL, the
//! PostgreSQL store there (kb/store/pg_store.hpp) — and a knowledge base on it. Errors: kIo naming the
//! file (unreadable, another application's file, a newer schema). `reranker` (nullable): a service loaded as a
//! Qwen3-Reranker, for searches that rerank (kb/rerank_stage.hpp).
std::unique_ptr<KnowledgeBase> open_knowledge_base(const std::string& db_path, service::EmbeddingService* service,
                                                   const KnowledgeBaseOptions& options = {},
                                                   service::EmbeddingService* reranker = nullptr);

class KnowledgeBase {
 public:
  //! `db_path`: where the store lives (vector index files go beside it); "" for an in-memory store (tests).
  //! `service` may be null for store-only work (list, rm, check): ingestion and search then throw. `reranker` may
  //! be null: searches that ask for reranking then throw.
  KnowledgeBase(std::shared_ptr<Store> store, std::string db_path, service::EmbeddingService* service,
                const KnowledgeBaseOptions& options = {}, service::EmbeddingService* reranker = nullptr);
  //! Stops ingestion: documents in flight stay pending (resumed on the next start).
  ~KnowledgeBase();
  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;

  Store& store() { return *store_; }
  const std::string& db_path() const { return db_path_; }
  const KnowledgeBaseOptions& options() const { return options_; }
  bool has_service() const { return service_ != nullptr; }
  bool has_reranker() const { return searcher_->reranker() != nullptr; }

  // --- collections
  //! Creates a collection for the loaded model. Errors (kInvalidInput): name taken, settings out of range.
  Collection create_collection(const CollectionRequest& request);
  //! The collection named `name`; kInvalidInput "no collection named 'x'" when unknown.
  Collection collection(std::string_view name);
  //! The same, also checking it was built with the loaded model (check_collection_model).
  Collection collection_for_model(std::string_view name);
  //! Deletes a collection, everything in it and its index files.
  void delete_collection(std::string_view name);

  // --- ingestion (kb/ingestion.hpp)
  Ingestion& ingestion() { return *ingestion_; }
  //! Queues every pending document of every collection built with the loaded model (after a restart or a kill);
  //! returns the job that carries them, or nullopt when there were none.
  std::optional<int64_t> resume_pending();

  //! Stores a document from precomputed chunks and vectors (no model needed): its text is the chunks joined by
  //! blank lines. The same text under the same name is a duplicate, as for uploads. A vector of the wrong size, a
  //! zero or non-finite vector, or an empty document is a failed outcome naming it.
  IngestOutcome import_document(const Collection& collection, ImportedDocument document);

  // --- search (kb/search.hpp)
  Searcher& searcher() { return *searcher_; }
  SearchResults search(const Collection& collection, const SearchRequest& request);

  // --- maintenance
  //! Store, keyword index and vector index agree (the index is opened/refreshed first).
  ConsistencyReport check(const Collection& collection);
  //! Store-level check only (no collection).
  ConsistencyReport check_store();
  //! Re-embeds every chunk of a collection from its stored text with the loaded model (after a model change) and
  //! records the new model identity; the collection's chunks and dimensions are kept (`dimensions` 0) or set.
  //! Returns the number of chunks re-embedded. Atomic: a failure leaves the old vectors and model.
  int64_t reindex(const Collection& collection, int32_t dimensions,
                  const std::function<void(int64_t done, int64_t total)>& progress = {});

 private:
  std::shared_ptr<Store> store_;
  std::string db_path_;
  service::EmbeddingService* service_;
  KnowledgeBaseOptions options_;
  std::unique_ptr<Searcher> searcher_;
  std::unique_ptr<Ingestion> ingestion_;
};

}  // namespace qembed::kb
