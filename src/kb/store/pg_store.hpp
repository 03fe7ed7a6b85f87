#pragma once
// The knowledge base in a PostgreSQL (15+) database, through libpq: the same contract and tests as SqliteStore, for
// several replicas sharing one database. Opened with a `postgresql://` or `postgres://` URL (libpq's syntax;
// passwords may come from the URL, PGPASSWORD or ~/.pgpass and never appear in messages).
//
// - Schema: table qembed_schema holds the version; migrations run in one transaction under a transaction-scoped
//   advisory lock, so whichever replica starts first migrates and the others wait, then find it done. A newer
//   version than this binary knows is a kIo error.
// - Writes: every mutating call is one transaction that first takes a store-wide advisory lock (kPgWriteLockKey,
//   waiting at most 5 s, then kLimit): writers of every replica run one at a time, as SQLite's do, so a commit's
//   chunk ids are contiguous and change sequences become visible in order.
// - Vectors: bytea in the collection's vector type (vector_codec), as in SQLite; pgvector is not needed.
// - Keyword search: BM25 computed in SQL over keyword_terms/keyword_docs with FTS5's formula (k1 = 1.2, b = 0.75,
//   IDF = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; N, n and the average length store-wide, as FTS5's are), and
//   the same common-term cutoff.
// - Change log: table changes (seq = an identity column); a trigger NOTIFYs channel qembed_kb_changes with the
//   collection id when a change commits, for replicas that LISTEN (a replica also sees changes at its next search:
//   the searcher compares change_seq with its index's).
//
// Thread safety: one connection behind a mutex; every method may be called from any thread (calls serialise).
#include <memory>
#include <mutex>
#include <string>

#include "kb/store/store.hpp"

namespace qembed::kb {

class PgConn;

struct PgStoreOptions {
  //! As SqliteStoreOptions::keyword_row_budget.
  int64_t keyword_row_budget = 10000;
};

class PgStore final : public Store {
 public:
  static constexpr int kSchemaVersion = 1;

  //! Connects to `url` and migrates its schema. Errors: kUnavailable when the server cannot be reached; kIo for a
  //! schema newer than kSchemaVersion, a database with tables of its own that is not a qembed knowledge base, and
  //! other failures (naming the URL without its password).
  static std::unique_ptr<PgStore> open(const std::string& url, const PgStoreOptions& options = {});
  ~PgStore() override;

  //! The URL without its password.
  const std::string& display_url() const;
  int schema_version();

  Collection create_collection(const CollectionSettings& settings) override;
  std::optional<Collection> find_collection(std::string_view name) override;
  std::vector<Collection> list_collections() override;
  void delete_collection(int64_t collection_id) override;

  Registration register_document(int64_t collection_id, const DocumentDraft& draft) override;
  Document commit_document(int64_t document_id, const DocumentContent& content) override;
  void fail_document(int64_t document_id, std::string_view reason) override;
  void delete_document(int64_t document_id) override;
  void set_metadata(int64_t document_id, std::string_view metadata_json) override;
  std::optional<Document> get_document(int64_t document_id) override;
  std::vector<Document> find_documents(int64_t collection_id, std::string_view name) override;
  std::vector<Document> list_documents(int64_t collection_id, std::optional<DocumentStatus> status, int64_t after_id,
                                       int32_t limit) override;
  DocumentCounts document_counts(int64_t collection_id) override;
  std::optional<std::string> pending_source(int64_t document_id) override;

  std::optional<std::string> content_text(int64_t content_id) override;
  std::optional<std::string> content_title(int64_t content_id) override;
  std::vector<Chunk> content_chunks(int64_t content_id) override;
  std::vector<Chunk> get_chunks(std::span<const int64_t> chunk_ids) override;
  std::vector<std::string> chunk_texts(std::span<const int64_t> chunk_ids) override;
  std::vector<std::pair<int64_t, Document>> documents_for_contents(std::span<const int64_t> content_ids,
                                                                   const SearchFilter& filter) override;
  std::vector<int64_t> filter_chunk_ids(int64_t collection_id, const SearchFilter& filter) override;

  int64_t scan_vectors(int64_t collection_id, const std::function<void(const StoredVector&)>& fn) override;
  std::vector<float> load_vectors_f32(int64_t collection_id, std::span<const int64_t> chunk_ids) override;
  void scan_vector_range(int64_t collection_id, int64_t first_chunk_id, int64_t last_chunk_id,
                         const std::function<void(const StoredVector&)>& fn) override;

  void replace_vectors(int64_t collection_id, const ModelIdentity& model, int32_t dimensions,
                       std::span<const int64_t> chunk_ids, std::span<const float> vectors) override;
  int64_t change_seq(int64_t collection_id) override;
  std::vector<VectorChange> changes_since(int64_t collection_id, int64_t after_seq, int32_t limit) override;

  std::vector<KeywordHit> keyword_search(int64_t collection_id, std::string_view query_terms, int32_t k,
                                         const SearchFilter& filter) override;

  void save_label(const RelevanceLabel& label) override;
  std::vector<RelevanceLabel> list_labels(int64_t collection_id) override;
  StoreCounts counts() override;
  //! Runs pg_dump (custom format) into `path`.
  void backup_to(const std::string& path) override;
  std::vector<std::string> check_integrity() override;

  //! Waits up to `timeout_ms` for a change of any collection committed by any replica (LISTEN qembed_kb_changes on
  //! a second connection, opened by the first call: changes before it are not reported). Returns whether one came;
  //! a caller then compares change_seq() with what it has. Thread-safe; does not block the store's other calls.
  bool wait_for_change(int timeout_ms);

  //! As SqliteStore's test hook.
  void fail_commit_after_chunks_for_testing(int n_chunks) { fail_after_chunks_ = n_chunks; }

 private:
  PgStore(std::string url, std::unique_ptr<PgConn> conn, const PgStoreOptions& options);
  void migrate();
  Collection require_collection(int64_t collection_id);
  Document require_document(int64_t document_id);
  void drop_content_if_unreferenced(int64_t content_id);

  std::string url_;
  std::unique_ptr<PgConn> db_;
  PgStoreOptions options_;
  std::mutex mutex_;
  int fail_after_chunks_ = -1;
  std::mutex listen_mutex_;
  std::unique_ptr<PgConn> listener_;
};

//! The migration steps: kPgMigrations[v] takes a database from version v to v + 1.
extern const char* const kPgMigrations[];

//! The terms FTS5's unicode61 tokenizer would make of `text` (our analysed keyword text or a raw query term):
//! runs of ASCII letters/digits and non-ASCII bytes, ASCII lowercased.
std::vector<std::string> pg_keyword_tokens(std::string_view text);

}  // namespace qembed::kb
