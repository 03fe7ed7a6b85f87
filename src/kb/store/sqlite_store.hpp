#pragma once
// The knowledge base in one SQLite file (the default store). WAL journal, so one writer and any number of readers —
// in this process or others (`qembed kb add` beside a running server) — share the file; writers wait up to the busy
// timeout for each other and then fail with kLimit, never corrupting anything. Foreign keys on; the schema version
// is `PRAGMA user_version`, migrated forward on open (a newer version than this binary knows is a kIo error).
//
// One transaction per document commit: text, chunks, vectors, keyword rows (FTS5, external content over `chunks`,
// kept in step by triggers) and the change-log row become visible together or not at all. A killed process leaves
// every committed document intact and the rest pending.
//
// Thread safety: one connection behind a mutex; every method may be called from any thread (calls serialise).
#include <memory>
#include <mutex>
#include <string>

#include "kb/store/store.hpp"

namespace qembed::kb {

class SqliteDb;

struct SqliteStoreOptions {
  int busy_timeout_ms = 5000;  //!< how long a write waits for another writer before failing with kLimit
  //! Keyword search: most chunks a query's terms may match before its most frequent terms are left out (BM25
  //! scores every matching chunk, ~1 us each; Store::keyword_search).
  int64_t keyword_row_budget = 10000;
};

class SqliteStore final : public Store {
 public:
  //! The schema version this binary writes. Version history: 1 = first; 2 = contents.title.
  static constexpr int kSchemaVersion = 4;

  //! Opens or creates the store at `path`. Errors (kIo, naming the file): not a database or corrupt, a schema
  //! newer than kSchemaVersion, a SQLite file that is not a qembed knowledge base, unreadable.
  static std::unique_ptr<SqliteStore> open(const std::string& path, const SqliteStoreOptions& options = {});
  ~SqliteStore() override;

  const std::string& path() const { return path_; }
  //! The schema version found in the file (after migration: kSchemaVersion).
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
  void backup_to(const std::string& path) override;
  std::vector<std::string> check_integrity() override;

  //! Test hook: commit_document throws an IoError after inserting this many chunks (-1: never), as a storage
  //! failure in the middle of a commit would.
  void fail_commit_after_chunks_for_testing(int n_chunks) { fail_after_chunks_ = n_chunks; }

 private:
  SqliteStore(std::string path, std::unique_ptr<SqliteDb> db, const SqliteStoreOptions& options);
  void migrate();
  Collection require_collection(int64_t collection_id);
  Document require_document(int64_t document_id);
  void drop_content_if_unreferenced(int64_t content_id);
  void validate_metadata(std::string_view metadata_json);

  std::string path_;
  std::unique_ptr<SqliteDb> db_;
  SqliteStoreOptions options_;
  std::mutex mutex_;
  int fail_after_chunks_ = -1;
};

//! The migration steps: kMigrations[v] takes a store from version v to v + 1 (exposed for tests).
extern const char* const kSqliteMigrations[];

}  // namespace qembed::kb
