#include "kb/store/sqlite_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.hpp"
#include "kb/store/write_rules.hpp"
#include "kb/store/sqlite_db.hpp"
#include "kb/store/sqlite_rows.hpp"
#include "kb/store/vector_codec.hpp"

namespace qembed::kb {
namespace {

constexpr int64_t kApplicationId = 0x71656d62;  // "qemb"

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, const SqliteStoreOptions& options) {
  auto db = std::make_unique<SqliteDb>(path, options.busy_timeout_ms);
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, std::move(db), options));
  store->migrate();
  // Per connection (temp schema, nothing written to the file): each term's document frequency, for the keyword
  // search's common-term cutoff.
  store->db_->exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_fts_vocab USING fts5vocab(main, chunk_fts, row)");
  return store;
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<SqliteDb> db, const SqliteStoreOptions& options)
    : path_(std::move(path)), db_(std::move(db)), options_(options) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() {
  std::lock_guard lock(mutex_);
  return static_cast<int>(db_->scalar("PRAGMA user_version"));
}

void SqliteStore::migrate() {
  auto check_version = [&]() {
    const int64_t version = db_->scalar("PRAGMA user_version");
    const int64_t application = db_->scalar("PRAGMA application_id");
    if (application != 0 && application != kApplicationId) {
      throw IoError(path_ + " is a SQLite database of another application, not a qembed knowledge base");
    }
    if (version > kSchemaVersion) {
      throw IoError("knowledge-base database " + path_ + " has schema version " + std::to_string(version) +
                    ", newer than this qembed understands (" + std::to_string(kSchemaVersion) +
                    "): upgrade qembed to open it");
    }
    if (version == 0 && db_->scalar("SELECT count(*) FROM sqlite_schema") > 0) {
      throw IoError(path_ + " is a SQLite database but not a qembed knowledge base (it has tables of its own)");
    }
    return version;
  };
  if (check_version() == kSchemaVersion) return;
  Transaction txn(*db_, Transaction::Kind::kWrite);
  // Another process may have migrated between the check and the write lock.
  for (int64_t version = check_version(); version < kSchemaVersion; ++version) {
    db_->exec(kSqliteMigrations[version]);
    db_->exec("PRAGMA user_version = " + std::to_string(version + 1));
  }
  db_->exec("PRAGMA application_id = " + std::to_string(kApplicationId));
  txn.commit();
}

// --- collections

Collection SqliteStore::create_collection(const CollectionSettings& settings) {
  require_valid_settings(settings);
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  {
    Stmt s = db_->prepare("SELECT 1 FROM collections WHERE name = ?1");
    if (s.bind(1, settings.name).step()) throw Error("collection '" + settings.name + "' already exists");
  }
  const int64_t created = now_ms();
  db_->prepare(
         "INSERT INTO collections (name, model_name, model_fingerprint, model_dimensions, dimensions, vector_type, "
         "chunk_tokens, overlap_tokens, prepend_title, query_instruction, created_ms, rerank) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")
      .bind(1, settings.name)
      .bind(2, settings.model.name)
      .bind(3, settings.model.fingerprint)
      .bind(4, settings.model.dimensions)
      .bind(5, settings.dimensions)
      .bind(6, vector_type_name(settings.vector_type))
      .bind(7, settings.chunk_tokens)
      .bind(8, settings.overlap_tokens)
      .bind(9, static_cast<int64_t>(settings.prepend_title))
      .bind(10, settings.query_instruction)
      .bind(11, created)
      .bind(12, static_cast<int64_t>(settings.rerank))
      .run();
  Collection c{db_->last_insert_rowid(), settings, created};
  txn.commit();
  return c;
}

std::optional<Collection> SqliteStore::find_collection(std::string_view name) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string("SELECT ") + kCollectionColumns + " FROM collections WHERE name = ?1");
  if (!s.bind(1, name).step()) return std::nullopt;
  return read_collection(s);
}

std::vector<Collection> SqliteStore::list_collections() {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string("SELECT ") + kCollectionColumns + " FROM collections ORDER BY id");
  std::vector<Collection> out;
  while (s.step()) out.push_back(read_collection(s));
  return out;
}

Collection SqliteStore::require_collection(int64_t collection_id) {
  Stmt s = db_->prepare(std::string("SELECT ") + kCollectionColumns + " FROM collections WHERE id = ?1");
  if (!s.bind(1, collection_id).step()) throw Error("no collection with id " + std::to_string(collection_id));
  return read_collection(s);
}

void SqliteStore::delete_collection(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  require_collection(collection_id);
  db_->prepare("DELETE FROM documents WHERE collection_id = ?1").bind(1, collection_id).run();
  db_->prepare("DELETE FROM contents WHERE collection_id = ?1").bind(1, collection_id).run();
  db_->prepare("DELETE FROM changes WHERE collection_id = ?1").bind(1, collection_id).run();
  db_->prepare("DELETE FROM relevance_labels WHERE collection_id = ?1").bind(1, collection_id).run();
  db_->prepare("DELETE FROM collections WHERE id = ?1").bind(1, collection_id).run();
  txn.commit();
}

// --- documents

Document SqliteStore::require_document(int64_t document_id) {
  Stmt s = db_->prepare(std::string(kDocumentSelect) + "WHERE d.id = ?1");
  if (!s.bind(1, document_id).step()) throw Error("no document with id " + std::to_string(document_id));
  return read_document(s);
}

void SqliteStore::validate_metadata(std::string_view metadata_json) {
  Stmt s = db_->prepare("SELECT json_valid(?1) AND json_type(?1) = 'object'");
  s.bind(1, metadata_json).step();
  if (s.i64(0) == 0) throw Error("document metadata must be a JSON object");
}

void SqliteStore::drop_content_if_unreferenced(int64_t content_id) {
  // chunks, vectors (ON DELETE CASCADE), keyword rows (chunks_fts_delete) and a `removed` change
  // (contents_removed) go with it.
  db_->prepare("DELETE FROM contents WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM documents WHERE content_id = ?1)")
      .bind(1, content_id)
      .run();
}

Registration SqliteStore::register_document(int64_t collection_id, const DocumentDraft& draft) {
  require_valid_draft(draft);
  std::lock_guard lock(mutex_);
  validate_metadata(draft.metadata_json);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  require_collection(collection_id);
  std::optional<Document> indexed, other;
  {
    Stmt s = db_->prepare(std::string(kDocumentSelect) + "WHERE d.collection_id = ?1 AND d.name = ?2");
    s.bind(1, collection_id).bind(2, draft.name);
    while (s.step()) {
      Document d = read_document(s);
      (d.status == DocumentStatus::kIndexed ? indexed : other) = std::move(d);
    }
  }
  const int64_t now = now_ms();
  auto delete_row = [&](const Document& d) {
    db_->prepare("DELETE FROM documents WHERE id = ?1").bind(1, d.id).run();
    if (d.content_id) drop_content_if_unreferenced(*d.content_id);
  };
  auto put_source = [&](int64_t id) {
    db_->prepare("INSERT OR REPLACE INTO pending_sources (document_id, bytes) VALUES (?1, ?2)")
        .bind(1, id)
        .bind_blob(2, {reinterpret_cast<const uint8_t*>(draft.source.data()), draft.source.size()})
        .run();
  };
  Registration result;
  if (indexed && indexed->sha256 == draft.sha256) {
    if (other) delete_row(*other);  // the name now means this content: drop a pending/failed other version
    result = {RegisterOutcome::kDuplicate, *indexed};
    txn.commit();
    return result;
  }
  if (other && other->sha256 == draft.sha256) {
    if (other->status == DocumentStatus::kPending) {
      txn.commit();
      return {RegisterOutcome::kDuplicate, *other};
    }
    db_->prepare("UPDATE documents SET status = 'pending', error = '', updated_ms = ?2 WHERE id = ?1")
        .bind(1, other->id)
        .bind(2, now)
        .run();
    put_source(other->id);
    result = {RegisterOutcome::kRetry, require_document(other->id)};
    txn.commit();
    return result;
  }
  std::optional<int64_t> shared_content;
  {
    Stmt s = db_->prepare("SELECT id FROM contents WHERE collection_id = ?1 AND sha256 = ?2");
    if (s.bind(1, collection_id).bind(2, draft.sha256).step()) shared_content = s.i64(0);
  }
  if (other) delete_row(*other);
  if (shared_content && indexed) db_->prepare("DELETE FROM documents WHERE id = ?1").bind(1, indexed->id).run();
  {
    Stmt insert = db_->prepare(
        "INSERT INTO documents (collection_id, name, sha256, format, size_bytes, status, metadata, created_ms, "
        "updated_ms, content_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)");
    insert.bind(1, collection_id)
        .bind(2, draft.name)
        .bind(3, draft.sha256)
        .bind(4, draft.format)
        .bind(5, draft.size_bytes)
        .bind(6, shared_content ? "indexed" : "pending")
        .bind(7, draft.metadata_json)
        .bind(8, now);
    if (shared_content) {
      insert.bind(9, *shared_content);
    } else {
      insert.bind_null(9);
    }
    insert.run();
  }
  const int64_t id = db_->last_insert_rowid();
  if (shared_content) {
    if (indexed && indexed->content_id) drop_content_if_unreferenced(*indexed->content_id);
    result.outcome = RegisterOutcome::kSharedContent;
  } else {
    put_source(id);
    result.outcome = RegisterOutcome::kCreated;
  }
  result.document = require_document(id);
  txn.commit();
  return result;
}

Document SqliteStore::commit_document(int64_t document_id, const DocumentContent& content) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  const Document doc = require_document(document_id);
  require_committable(doc, content);
  const Collection collection = require_collection(doc.collection_id);
  const size_t dims = static_cast<size_t>(collection.settings.dimensions);
  const VectorType type = collection.settings.vector_type;

  std::optional<int64_t> content_id;
  {
    Stmt s = db_->prepare("SELECT id FROM contents WHERE collection_id = ?1 AND sha256 = ?2");
    if (s.bind(1, doc.collection_id).bind(2, doc.sha256).step()) content_id = s.i64(0);
  }
  if (!content_id) {
    require_content_fits(doc, content, dims);
    const size_t n_chunks = content.chunks.size();
    db_->prepare(
           "INSERT INTO contents (collection_id, sha256, text, pages, chunk_count, title) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, doc.collection_id)
        .bind(2, doc.sha256)
        .bind(3, content.text)
        .bind(4, content.pages)
        .bind(5, static_cast<int64_t>(n_chunks))
        .bind(6, content.title)
        .run();
    content_id = db_->last_insert_rowid();
    int64_t first_chunk = 0, last_chunk = 0;
    for (size_t i = 0; i < n_chunks; ++i) {
      const ChunkInput& c = content.chunks[i];
      const std::span<const float> vec(content.vectors.data() + i * dims, dims);
      if (static_cast<int>(i) == fail_after_chunks_) throw IoError("injected storage failure (test)");
      db_->prepare(
             "INSERT INTO chunks (content_id, collection_id, ordinal, byte_start, byte_end, cp_start, cp_end, "
             "page_first, page_last, section_path, n_tokens, keyword_text) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")
          .bind(1, *content_id)
          .bind(2, doc.collection_id)
          .bind(3, static_cast<int64_t>(i))
          .bind(4, c.byte_start)
          .bind(5, c.byte_end)
          .bind(6, c.cp_start)
          .bind(7, c.cp_end)
          .bind(8, c.page_first)
          .bind(9, c.page_last)
          .bind(10, c.section_path)
          .bind(11, c.n_tokens)
          .bind(12, c.keyword_text)
          .run();
      const int64_t chunk_id = db_->last_insert_rowid();
      if (i == 0) first_chunk = chunk_id;
      last_chunk = chunk_id;
      const VectorRow v = encode_vector_row(type, vec);
      Stmt insert = db_->prepare("INSERT INTO vectors (chunk_id, data, scale, original) VALUES (?1, ?2, ?3, ?4)");
      bind_vector_row(insert, chunk_id, v);
      insert.run();
    }
    if (n_chunks > 0) {
      db_->prepare(
             "INSERT INTO changes (collection_id, added, content_id, first_chunk_id, last_chunk_id) "
             "VALUES (?1, 1, ?2, ?3, ?4)")
          .bind(1, doc.collection_id)
          .bind(2, *content_id)
          .bind(3, first_chunk)
          .bind(4, last_chunk)
          .run();
    }
  }
  std::optional<int64_t> old_content;
  {
    Stmt s = db_->prepare(
        "SELECT id, content_id FROM documents WHERE collection_id = ?1 AND name = ?2 AND status = 'indexed'");
    if (s.bind(1, doc.collection_id).bind(2, doc.name).step()) {
      const int64_t old_id = s.i64(0);
      old_content = s.i64(1);
      s.run();
      db_->prepare("DELETE FROM documents WHERE id = ?1").bind(1, old_id).run();
    }
  }
  db_->prepare("UPDATE documents SET status = 'indexed', error = '', content_id = ?2, updated_ms = ?3 WHERE id = ?1")
      .bind(1, document_id)
      .bind(2, *content_id)
      .bind(3, now_ms())
      .run();
  db_->prepare("DELETE FROM pending_sources WHERE document_id = ?1").bind(1, document_id).run();
  if (old_content && *old_content != *content_id) drop_content_if_unreferenced(*old_content);
  Document result = require_document(document_id);
  txn.commit();
  return result;
}

void SqliteStore::fail_document(int64_t document_id, std::string_view reason) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  const Document doc = require_document(document_id);
  if (doc.status != DocumentStatus::kPending) {
    throw Error("document " + std::to_string(document_id) + " is " + document_status_name(doc.status) +
                ", not pending");
  }
  db_->prepare("UPDATE documents SET status = 'failed', error = ?2, updated_ms = ?3 WHERE id = ?1")
      .bind(1, document_id)
      .bind(2, reason.empty() ? std::string_view("failed") : reason)
      .bind(3, now_ms())
      .run();
  db_->prepare("DELETE FROM pending_sources WHERE document_id = ?1").bind(1, document_id).run();
  txn.commit();
}

void SqliteStore::delete_document(int64_t document_id) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  const Document doc = require_document(document_id);
  db_->prepare("DELETE FROM documents WHERE id = ?1").bind(1, document_id).run();  // pending_sources cascade
  if (doc.content_id) drop_content_if_unreferenced(*doc.content_id);
  txn.commit();
}

void SqliteStore::set_metadata(int64_t document_id, std::string_view metadata_json) {
  std::lock_guard lock(mutex_);
  validate_metadata(metadata_json);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  require_document(document_id);
  db_->prepare("UPDATE documents SET metadata = ?2, updated_ms = ?3 WHERE id = ?1")
      .bind(1, document_id)
      .bind(2, metadata_json)
      .bind(3, now_ms())
      .run();
  txn.commit();
}

void SqliteStore::save_label(const RelevanceLabel& label) {
  if (label.query.empty()) throw Error("a relevance label needs a query");
  if (label.document_name.empty()) throw Error("a relevance label needs a document name");
  if (label.grade < 0 || label.grade > 3) {
    throw Error("a relevance grade is 0 (not relevant) to 3, got " + std::to_string(label.grade));
  }
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  require_collection(label.collection_id);
  db_->prepare(
         "INSERT INTO relevance_labels(collection_id, query, document_name, passage_start, passage_end, grade, "
         "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(collection_id, query, document_name) DO UPDATE "
         "SET passage_start = excluded.passage_start, passage_end = excluded.passage_end, grade = excluded.grade, "
         "created_ms = excluded.created_ms")
      .bind(1, label.collection_id)
      .bind(2, label.query)
      .bind(3, label.document_name)
      .bind(4, label.passage_start)
      .bind(5, label.passage_end)
      .bind(6, label.grade)
      .bind(7, label.created_ms ? label.created_ms : now_ms())
      .run();
  txn.commit();
}

std::vector<RelevanceLabel> SqliteStore::list_labels(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(
      "SELECT query, document_name, passage_start, passage_end, grade, created_ms FROM relevance_labels "
      "WHERE collection_id = ?1 ORDER BY created_ms, rowid");
  s.bind(1, collection_id);
  std::vector<RelevanceLabel> out;
  while (s.step()) {
    out.push_back({collection_id, s.text(0), s.text(1), s.i64(2), s.i64(3), static_cast<int32_t>(s.i64(4)), s.i64(5)});
  }
  return out;
}

std::optional<Document> SqliteStore::get_document(int64_t document_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string(kDocumentSelect) + "WHERE d.id = ?1");
  if (!s.bind(1, document_id).step()) return std::nullopt;
  return read_document(s);
}

std::vector<Document> SqliteStore::find_documents(int64_t collection_id, std::string_view name) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string(kDocumentSelect) +
                        "WHERE d.collection_id = ?1 AND d.name = ?2 ORDER BY d.status <> 'indexed', d.id");
  s.bind(1, collection_id).bind(2, name);
  std::vector<Document> out;
  while (s.step()) out.push_back(read_document(s));
  return out;
}

std::vector<Document> SqliteStore::list_documents(int64_t collection_id, std::optional<DocumentStatus> status,
                                                  int64_t after_id, int32_t limit) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string(kDocumentSelect) +
                        "WHERE d.collection_id = ?1 AND (?2 IS NULL OR d.status = ?2) AND d.id > ?3 "
                        "ORDER BY d.id LIMIT ?4");
  s.bind(1, collection_id);
  if (status) {
    s.bind(2, document_status_name(*status));
  } else {
    s.bind_null(2);
  }
  s.bind(3, after_id).bind(4, static_cast<int64_t>(std::max(limit, 0)));
  std::vector<Document> out;
  while (s.step()) out.push_back(read_document(s));
  return out;
}

DocumentCounts SqliteStore::document_counts(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare("SELECT status, count(*) FROM documents WHERE collection_id = ?1 GROUP BY status");
  s.bind(1, collection_id);
  DocumentCounts counts;
  while (s.step()) {
    const auto status = parse_document_status(s.text(0));
    if (status == DocumentStatus::kPending) counts.pending = s.i64(1);
    if (status == DocumentStatus::kIndexed) counts.indexed = s.i64(1);
    if (status == DocumentStatus::kFailed) counts.failed = s.i64(1);
  }
  return counts;
}

std::optional<std::string> SqliteStore::pending_source(int64_t document_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare("SELECT bytes FROM pending_sources WHERE document_id = ?1");
  if (!s.bind(1, document_id).step()) return std::nullopt;
  const auto bytes = s.blob(0);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// --- content

std::optional<std::string> SqliteStore::content_text(int64_t content_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare("SELECT text FROM contents WHERE id = ?1");
  if (!s.bind(1, content_id).step()) return std::nullopt;
  return s.text(0);
}

std::optional<std::string> SqliteStore::content_title(int64_t content_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare("SELECT title FROM contents WHERE id = ?1");
  if (!s.bind(1, content_id).step()) return std::nullopt;
  return s.text(0);
}

std::vector<Chunk> SqliteStore::content_chunks(int64_t content_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string(kChunkSelect) + "WHERE content_id = ?1 ORDER BY ordinal");
  s.bind(1, content_id);
  std::vector<Chunk> out;
  while (s.step()) out.push_back(read_chunk(s));
  return out;
}

std::vector<Chunk> SqliteStore::get_chunks(std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  std::vector<Chunk> out;
  out.reserve(chunk_ids.size());
  for (int64_t id : chunk_ids) {
    Stmt s = db_->prepare(std::string(kChunkSelect) + "WHERE id = ?1");
    if (s.bind(1, id).step()) out.push_back(read_chunk(s));
  }
  txn.commit();
  return out;
}

void SqliteStore::backup_to(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) throw Error("backup target " + path + " already exists");
  std::lock_guard lock(mutex_);
  try {
    // VACUUM INTO reads one snapshot (a read transaction), so writers in other processes go on meanwhile.
    db_->prepare("VACUUM INTO ?1").bind(1, path).run();
  } catch (const Error& e) {
    throw IoError("cannot write the backup " + path + ": " + e.what());
  }
}

StoreCounts SqliteStore::counts() {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  StoreCounts c;
  c.collections = db_->scalar("SELECT count(*) FROM collections");
  c.documents = db_->scalar("SELECT count(*) FROM documents");
  c.contents = db_->scalar("SELECT count(*) FROM contents");
  c.chunks = db_->scalar("SELECT count(*) FROM chunks");
  c.vectors = db_->scalar("SELECT count(*) FROM vectors");
  c.keyword_rows = db_->scalar("SELECT count(*) FROM chunk_fts_docsize");  // the index's own rows
  c.pending_sources = db_->scalar("SELECT count(*) FROM pending_sources");
  txn.commit();
  return c;
}

std::vector<std::string> SqliteStore::check_integrity() {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  std::vector<std::string> problems;
  {
    Stmt s = db_->prepare("PRAGMA quick_check");
    while (s.step()) {
      if (s.text(0) != "ok") problems.push_back("sqlite: " + s.text(0));
    }
  }
  {
    Stmt s = db_->prepare("PRAGMA foreign_key_check");
    while (s.step()) problems.push_back("foreign key: row " + std::to_string(s.i64(1)) + " of " + s.text(0));
  }
  // Each query lists ids (at most 20) of one kind of disagreement.
  const std::pair<const char*, const char*> checks[] = {
      {"content referenced by no document",
       "SELECT id FROM contents c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.content_id = c.id)"},
      {"chunk without a vector",
       "SELECT c.id FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.chunk_id = c.id)"},
      {"chunk in another collection than its content",
       "SELECT c.id FROM chunks c JOIN contents t ON t.id = c.content_id WHERE t.collection_id <> c.collection_id"},
      {"content whose chunk count disagrees with its chunks",
       "SELECT t.id FROM contents t WHERE t.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.content_id = t.id)"},
      {"document sharing content of another collection",
       "SELECT d.id FROM documents d JOIN contents t ON t.id = d.content_id WHERE t.collection_id <> d.collection_id"},
      {"document whose sha256 differs from its content's",
       "SELECT d.id FROM documents d JOIN contents t ON t.id = d.content_id WHERE t.sha256 <> d.sha256"},
      {"pending source of a document that is not pending",
       "SELECT p.document_id FROM pending_sources p JOIN documents d ON d.id = p.document_id "
       "WHERE d.status <> 'pending'"},
      {"keyword row without a chunk",
       "SELECT f.id FROM chunk_fts_docsize f WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = f.id)"},
      {"chunk without a keyword row",
       "SELECT c.id FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_fts_docsize f WHERE f.id = c.id)"},
      {"vector of the wrong size",
       "SELECT v.chunk_id FROM vectors v JOIN chunks c ON c.id = v.chunk_id JOIN collections k "
       "ON k.id = c.collection_id WHERE length(v.data) <> k.dimensions * "
       "(CASE k.vector_type WHEN 'f32' THEN 4 WHEN 'f16' THEN 2 ELSE 1 END)"},
  };
  for (const auto& [what, sql] : checks) {
    Stmt s = db_->prepare(std::string(sql) + " LIMIT 20");
    std::string ids;
    while (s.step()) {
      if (!ids.empty()) ids += ", ";
      ids += std::to_string(s.i64(0));
    }
    if (!ids.empty()) problems.push_back(std::string(what) + ": " + ids);
  }
  // FTS5's own check of its index against the chunks table (external content).
  const int rc = sqlite3_exec(db_->handle(), "INSERT INTO chunk_fts(chunk_fts, rank) VALUES ('integrity-check', 1)",
                              nullptr, nullptr, nullptr);
  if ((rc & 0xff) == SQLITE_BUSY) {
    problems.push_back("keyword index check could not run: another process is writing; run the check again");
  } else if (rc != SQLITE_OK) {
    problems.push_back(std::string("keyword index: ") + sqlite3_errmsg(db_->handle()));
  }
  txn.commit();
  return problems;
}

}  // namespace qembed::kb
