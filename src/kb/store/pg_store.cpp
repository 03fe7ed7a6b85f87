// PgStore: opening and migrating, collections, documents, labels and maintenance. Content, vectors, the change log
// and keyword search are in pg_store_search.cpp.
#include "kb/store/pg_store.hpp"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "kb/store/write_rules.hpp"
#include "kb/store/pg_conn.hpp"
#include "kb/store/pg_rows.hpp"
#include "kb/store/vector_codec.hpp"

extern char** environ;

namespace qembed::kb {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void validate_metadata(std::string_view metadata_json) {
  const auto j = nlohmann::json::parse(metadata_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("document metadata must be a JSON object");
}

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

std::vector<std::string> pg_keyword_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || std::isalnum(c)) {
      cur += (c < 0x80) ? static_cast<char>(std::tolower(c)) : ch;
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::unique_ptr<PgStore> PgStore::open(const std::string& url, const PgStoreOptions& options) {
  auto conn = std::make_unique<PgConn>(url);
  std::unique_ptr<PgStore> store(new PgStore(url, std::move(conn), options));
  store->migrate();
  return store;
}

PgStore::PgStore(std::string url, std::unique_ptr<PgConn> conn, const PgStoreOptions& options)
    : url_(std::move(url)), db_(std::move(conn)), options_(options) {}
PgStore::~PgStore() = default;

const std::string& PgStore::display_url() const { return db_->display_url(); }

int PgStore::schema_version() {
  std::lock_guard lock(mutex_);
  return static_cast<int>(db_->scalar("SELECT version FROM qembed_schema"));
}

void PgStore::migrate() {
  // One transaction under the schema lock: the first replica migrates, the others wait and then find it done.
  db_->exec("BEGIN");
  try {
    db_->query("SELECT pg_advisory_xact_lock($1::bigint)", PgParams().add(kPgSchemaLockKey));
    const bool has_version_table = db_->scalar(
                                       "SELECT count(*) FROM pg_catalog.pg_tables WHERE "
                                       "schemaname = current_schema() AND tablename = 'qembed_schema'") > 0;
    int64_t version = 0;
    if (has_version_table) {
      version = db_->scalar("SELECT version FROM qembed_schema");
    } else if (db_->scalar("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()") > 0) {
      throw IoError("the database " + display_url() +
                    " is not a qembed knowledge base (it has tables of its own and no qembed_schema)");
    }
    if (version > kSchemaVersion) {
      throw IoError("knowledge-base database " + display_url() + " has schema version " + std::to_string(version) +
                    ", newer than this qembed understands (" + std::to_string(kSchemaVersion) +
                    "): upgrade qembed to open it");
    }
    if (!has_version_table) {
      db_->exec("CREATE TABLE qembed_schema (version INTEGER NOT NULL); INSERT INTO qembed_schema VALUES (0)");
    }
    for (; version < kSchemaVersion; ++version) {
      db_->exec(kPgMigrations[version]);
      db_->query("UPDATE qembed_schema SET version = $1::integer", PgParams().add(version + 1));
    }
    db_->exec("COMMIT");
  } catch (...) {
    PgResult r(PQexec(db_->handle(), "ROLLBACK"));
    throw;
  }
}

// --- collections

Collection PgStore::create_collection(const CollectionSettings& settings) {
  require_valid_settings(settings);
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  if (db_->query("SELECT 1 FROM collections WHERE name = $1", PgParams().add(settings.name)).rows() > 0) {
    throw Error("collection '" + settings.name + "' already exists");
  }
  const int64_t created = now_ms();
  const int64_t id = db_->scalar(
      "INSERT INTO collections (name, model_name, model_fingerprint, model_dimensions, dimensions, vector_type, "
      "chunk_tokens, overlap_tokens, prepend_title, query_instruction, created_ms, rerank) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
      PgParams()
          .add(settings.name)
          .add(settings.model.name)
          .add(settings.model.fingerprint)
          .add(settings.model.dimensions)
          .add(settings.dimensions)
          .add(vector_type_name(settings.vector_type))
          .add(settings.chunk_tokens)
          .add(settings.overlap_tokens)
          .add_bool(settings.prepend_title)
          .add(settings.query_instruction)
          .add(created)
          .add_bool(settings.rerank));
  txn.commit();
  return Collection{id, settings, created};
}

std::optional<Collection> PgStore::find_collection(std::string_view name) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(std::string("SELECT ") + pg::kCollectionColumns + " FROM collections WHERE name = $1",
                          PgParams().add(name));
  if (r.rows() == 0) return std::nullopt;
  return pg::read_collection(r, 0);
}

std::vector<Collection> PgStore::list_collections() {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(std::string("SELECT ") + pg::kCollectionColumns + " FROM collections ORDER BY id");
  std::vector<Collection> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(pg::read_collection(r, i));
  return out;
}

Collection PgStore::require_collection(int64_t collection_id) {
  PgResult r = db_->query(std::string("SELECT ") + pg::kCollectionColumns + " FROM collections WHERE id = $1",
                          PgParams().add(collection_id));
  if (r.rows() == 0) throw Error("no collection with id " + std::to_string(collection_id));
  return pg::read_collection(r, 0);
}

void PgStore::delete_collection(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  require_collection(collection_id);
  const PgParams id = PgParams().add(collection_id);
  db_->query("DELETE FROM documents WHERE collection_id = $1", id);
  db_->query("DELETE FROM contents WHERE collection_id = $1", id);
  db_->query("DELETE FROM changes WHERE collection_id = $1", id);
  db_->query("DELETE FROM relevance_labels WHERE collection_id = $1", id);
  db_->query("DELETE FROM collections WHERE id = $1", id);
  txn.commit();
}

// --- documents

Document PgStore::require_document(int64_t document_id) {
  PgResult r = db_->query(std::string(pg::kDocumentSelect) + "WHERE d.id = $1", PgParams().add(document_id));
  if (r.rows() == 0) throw Error("no document with id " + std::to_string(document_id));
  return pg::read_document(r, 0);
}

void PgStore::drop_content_if_unreferenced(int64_t content_id) {
  // chunks, vectors, keyword rows (ON DELETE CASCADE) and a `removed` change (trigger contents_removed) go with it.
  db_->query("DELETE FROM contents WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM documents WHERE content_id = $1)",
             PgParams().add(content_id));
}

Registration PgStore::register_document(int64_t collection_id, const DocumentDraft& draft) {
  require_valid_draft(draft);
  validate_metadata(draft.metadata_json);
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  require_collection(collection_id);
  std::optional<Document> indexed, other;
  {
    PgResult r = db_->query(std::string(pg::kDocumentSelect) + "WHERE d.collection_id = $1 AND d.name = $2",
                            PgParams().add(collection_id).add(draft.name));
    for (int i = 0; i < r.rows(); ++i) {
      Document d = pg::read_document(r, i);
      (d.status == DocumentStatus::kIndexed ? indexed : other) = std::move(d);
    }
  }
  const int64_t now = now_ms();
  auto delete_row = [&](const Document& d) {
    db_->query("DELETE FROM documents WHERE id = $1", PgParams().add(d.id));
    if (d.content_id) drop_content_if_unreferenced(*d.content_id);
  };
  auto put_source = [&](int64_t id) {
    db_->query(
        "INSERT INTO pending_sources (document_id, bytes) VALUES ($1, $2) "
        "ON CONFLICT (document_id) DO UPDATE SET bytes = excluded.bytes",
        PgParams().add(id).add_bytes(as_bytes(draft.source)));
  };
  Registration result;
  if (indexed && indexed->sha256 == draft.sha256) {
    if (other) delete_row(*other);
    result = {RegisterOutcome::kDuplicate, *indexed};
    txn.commit();
    return result;
  }
  if (other && other->sha256 == draft.sha256) {
    if (other->status == DocumentStatus::kPending) {
      txn.commit();
      return {RegisterOutcome::kDuplicate, *other};
    }
    db_->query("UPDATE documents SET status = 'pending', error = '', updated_ms = $2 WHERE id = $1",
               PgParams().add(other->id).add(now));
    put_source(other->id);
    result = {RegisterOutcome::kRetry, require_document(other->id)};
    txn.commit();
    return result;
  }
  std::optional<int64_t> shared_content;
  {
    PgResult r = db_->query("SELECT id FROM contents WHERE collection_id = $1 AND sha256 = $2",
                            PgParams().add(collection_id).add(draft.sha256));
    if (r.rows() > 0) shared_content = r.i64(0, 0);
  }
  if (other) delete_row(*other);
  if (shared_content && indexed) db_->query("DELETE FROM documents WHERE id = $1", PgParams().add(indexed->id));
  const int64_t id = db_->scalar(
      "INSERT INTO documents (collection_id, name, sha256, format, size_bytes, status, metadata, created_ms, "
      "updated_ms, content_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9::bigint) RETURNING id",
      PgParams()
          .add(collection_id)
          .add(draft.name)
          .add(draft.sha256)
          .add(draft.format)
          .add(draft.size_bytes)
          .add(shared_content ? "indexed" : "pending")
          .add(draft.metadata_json)
          .add(now)
          .add_opt(shared_content));
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

Document PgStore::commit_document(int64_t document_id, const DocumentContent& content) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  const Document doc = require_document(document_id);
  require_committable(doc, content);
  const Collection collection = require_collection(doc.collection_id);
  const size_t dims = static_cast<size_t>(collection.settings.dimensions);
  const VectorType type = collection.settings.vector_type;

  std::optional<int64_t> content_id;
  {
    PgResult r = db_->query("SELECT id FROM contents WHERE collection_id = $1 AND sha256 = $2",
                            PgParams().add(doc.collection_id).add(doc.sha256));
    if (r.rows() > 0) content_id = r.i64(0, 0);
  }
  if (!content_id) {
    require_content_fits(doc, content, dims);
    const size_t n_chunks = content.chunks.size();
    content_id = db_->scalar(
        "INSERT INTO contents (collection_id, sha256, text, pages, chunk_count, title) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        PgParams()
            .add(doc.collection_id)
            .add(doc.sha256)
            .add_bytes(as_bytes(content.text))
            .add(content.pages)
            .add(static_cast<int64_t>(n_chunks))
            .add(content.title));
    int64_t first_chunk = 0, last_chunk = 0;
    for (size_t i = 0; i < n_chunks; ++i) {
      const ChunkInput& c = content.chunks[i];
      const std::span<const float> vec(content.vectors.data() + i * dims, dims);
      if (static_cast<int>(i) == fail_after_chunks_) throw IoError("injected storage failure (test)");
      const int64_t chunk_id = db_->scalar(
          "INSERT INTO chunks (content_id, collection_id, ordinal, byte_start, byte_end, cp_start, cp_end, "
          "page_first, page_last, section_path, n_tokens, keyword_text) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
          PgParams()
              .add(*content_id)
              .add(doc.collection_id)
              .add(static_cast<int64_t>(i))
              .add(c.byte_start)
              .add(c.byte_end)
              .add(c.cp_start)
              .add(c.cp_end)
              .add(c.page_first)
              .add(c.page_last)
              .add(c.section_path)
              .add(c.n_tokens)
              .add(c.keyword_text));
      if (i == 0) first_chunk = chunk_id;
      last_chunk = chunk_id;
      const VectorRow v = encode_vector_row(type, vec);
      db_->query("INSERT INTO vectors (chunk_id, data, scale, original) VALUES ($1, $2, $3, $4::bytea)",
                 pg::vector_row_params(chunk_id, v));
      // Keyword rows: the chunk's length in terms and each term's frequency (FTS5's doclist, as rows).
      const std::vector<std::string> tokens = pg_keyword_tokens(c.keyword_text);
      std::map<std::string, int64_t> tf;
      for (const auto& t : tokens) ++tf[t];
      db_->query("INSERT INTO keyword_docs (chunk_id, n_terms) VALUES ($1, $2)",
                 PgParams().add(chunk_id).add(static_cast<int64_t>(tokens.size())));
      if (!tf.empty()) {
        std::vector<std::string> terms;
        std::vector<int64_t> counts;
        for (const auto& [t, n] : tf) {
          terms.push_back(t);
          counts.push_back(n);
        }
        db_->query(
            "INSERT INTO keyword_terms (term, chunk_id, collection_id, tf) "
            "SELECT t, $2, $3, n FROM unnest($1::text[], $4::int[]) AS u(t, n)",
            PgParams().add_text_array(terms).add(chunk_id).add(doc.collection_id).add_int_array(counts));
      }
    }
    if (n_chunks > 0) {
      db_->query(
          "INSERT INTO changes (collection_id, added, content_id, first_chunk_id, last_chunk_id) "
          "VALUES ($1, true, $2, $3, $4)",
          PgParams().add(doc.collection_id).add(*content_id).add(first_chunk).add(last_chunk));
    }
  }
  std::optional<int64_t> old_content;
  {
    PgResult r =
        db_->query("SELECT id, content_id FROM documents WHERE collection_id = $1 AND name = $2 AND status = 'indexed'",
                   PgParams().add(doc.collection_id).add(doc.name));
    if (r.rows() > 0) {
      old_content = r.i64(0, 1);
      db_->query("DELETE FROM documents WHERE id = $1", PgParams().add(r.i64(0, 0)));
    }
  }
  db_->query("UPDATE documents SET status = 'indexed', error = '', content_id = $2, updated_ms = $3 WHERE id = $1",
             PgParams().add(document_id).add(*content_id).add(now_ms()));
  db_->query("DELETE FROM pending_sources WHERE document_id = $1", PgParams().add(document_id));
  if (old_content && *old_content != *content_id) drop_content_if_unreferenced(*old_content);
  Document result = require_document(document_id);
  txn.commit();
  return result;
}

void PgStore::fail_document(int64_t document_id, std::string_view reason) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  const Document doc = require_document(document_id);
  if (doc.status != DocumentStatus::kPending) {
    throw Error("document " + std::to_string(document_id) + " is " + document_status_name(doc.status) +
                ", not pending");
  }
  db_->query("UPDATE documents SET status = 'failed', error = $2, updated_ms = $3 WHERE id = $1",
             PgParams().add(document_id).add(reason.empty() ? std::string_view("failed") : reason).add(now_ms()));
  db_->query("DELETE FROM pending_sources WHERE document_id = $1", PgParams().add(document_id));
  txn.commit();
}

void PgStore::delete_document(int64_t document_id) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  const Document doc = require_document(document_id);
  db_->query("DELETE FROM documents WHERE id = $1", PgParams().add(document_id));
  if (doc.content_id) drop_content_if_unreferenced(*doc.content_id);
  txn.commit();
}

void PgStore::set_metadata(int64_t document_id, std::string_view metadata_json) {
  validate_metadata(metadata_json);
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  require_document(document_id);
  db_->query("UPDATE documents SET metadata = $2, updated_ms = $3 WHERE id = $1",
             PgParams().add(document_id).add(metadata_json).add(now_ms()));
  txn.commit();
}

void PgStore::save_label(const RelevanceLabel& label) {
  if (label.query.empty()) throw Error("a relevance label needs a query");
  if (label.document_name.empty()) throw Error("a relevance label needs a document name");
  if (label.grade < 0 || label.grade > 3) {
    throw Error("a relevance grade is 0 (not relevant) to 3, got " + std::to_string(label.grade));
  }
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  require_collection(label.collection_id);
  db_->query(
      "INSERT INTO relevance_labels(collection_id, query, document_name, passage_start, passage_end, grade, "
      "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (collection_id, query, document_name) DO UPDATE "
      "SET passage_start = excluded.passage_start, passage_end = excluded.passage_end, grade = excluded.grade, "
      "created_ms = excluded.created_ms",
      PgParams()
          .add(label.collection_id)
          .add(label.query)
          .add(label.document_name)
          .add(label.passage_start)
          .add(label.passage_end)
          .add(label.grade)
          .add(label.created_ms ? label.created_ms : now_ms()));
  txn.commit();
}

std::vector<RelevanceLabel> PgStore::list_labels(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(
      "SELECT query, document_name, passage_start, passage_end, grade, created_ms FROM relevance_labels "
      "WHERE collection_id = $1 ORDER BY created_ms, seq",
      PgParams().add(collection_id));
  std::vector<RelevanceLabel> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({collection_id, r.text(i, 0), r.text(i, 1), r.i64(i, 2), r.i64(i, 3),
                   static_cast<int32_t>(r.i64(i, 4)), r.i64(i, 5)});
  }
  return out;
}

std::optional<Document> PgStore::get_document(int64_t document_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(std::string(pg::kDocumentSelect) + "WHERE d.id = $1", PgParams().add(document_id));
  if (r.rows() == 0) return std::nullopt;
  return pg::read_document(r, 0);
}

std::vector<Document> PgStore::find_documents(int64_t collection_id, std::string_view name) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(std::string(pg::kDocumentSelect) +
                              "WHERE d.collection_id = $1 AND d.name = $2 ORDER BY d.status <> 'indexed', d.id",
                          PgParams().add(collection_id).add(name));
  std::vector<Document> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(pg::read_document(r, i));
  return out;
}

std::vector<Document> PgStore::list_documents(int64_t collection_id, std::optional<DocumentStatus> status,
                                              int64_t after_id, int32_t limit) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgParams p;
  p.add(collection_id);
  if (status) {
    p.add(document_status_name(*status));
  } else {
    p.add_null();
  }
  p.add(after_id).add(static_cast<int64_t>(std::max(limit, 0)));
  PgResult r = db_->query(std::string(pg::kDocumentSelect) +
                              "WHERE d.collection_id = $1 AND ($2::text IS NULL OR d.status = $2::text) AND d.id > $3 "
                              "ORDER BY d.id LIMIT $4",
                          p);
  std::vector<Document> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(pg::read_document(r, i));
  return out;
}

DocumentCounts PgStore::document_counts(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query("SELECT status, count(*) FROM documents WHERE collection_id = $1 GROUP BY status",
                          PgParams().add(collection_id));
  DocumentCounts counts;
  for (int i = 0; i < r.rows(); ++i) {
    const auto status = parse_document_status(r.text(i, 0));
    if (status == DocumentStatus::kPending) counts.pending = r.i64(i, 1);
    if (status == DocumentStatus::kIndexed) counts.indexed = r.i64(i, 1);
    if (status == DocumentStatus::kFailed) counts.failed = r.i64(i, 1);
  }
  return counts;
}

std::optional<std::string> PgStore::pending_source(int64_t document_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query("SELECT bytes FROM pending_sources WHERE document_id = $1", PgParams().add(document_id),
                          /*binary_result=*/true);
  if (r.rows() == 0) return std::nullopt;
  const auto bytes = r.raw(0, 0);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// --- following other replicas

bool PgStore::wait_for_change(int timeout_ms) {
  std::lock_guard lock(listen_mutex_);
  if (!listener_) {
    listener_ = std::make_unique<PgConn>(url_);
    listener_->exec("LISTEN qembed_kb_changes");
  }
  PGconn* c = listener_->handle();
  auto drain = [&] {
    bool any = false;
    while (PGnotify* n = PQnotifies(c)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  if (PQconsumeInput(c) == 0) {
    listener_.reset();  // reconnect (and LISTEN again) next time
    throw UnavailableError("knowledge-base database " + display_url() +
                           ": the change listener lost its connection; retry");
  }
  if (drain()) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd fd{PQsocket(c), POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left)) > 0) {
      if (PQconsumeInput(c) == 0) {
        listener_.reset();
        throw UnavailableError("knowledge-base database " + display_url() +
                               ": the change listener lost its connection; retry");
      }
      if (drain()) return true;
    }
  }
}

// --- maintenance

void PgStore::backup_to(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) throw Error("backup target " + path + " already exists");
  // pg_dump reads one snapshot, so writers go on meanwhile. Its custom format restores with pg_restore.
  const std::string file_arg = "--file=" + path;
  const std::string db_arg = "--dbname=" + url_;
  char* argv[] = {const_cast<char*>("pg_dump"), const_cast<char*>("--format=custom"),
                  const_cast<char*>(file_arg.c_str()), const_cast<char*>(db_arg.c_str()), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "pg_dump", nullptr, nullptr, argv, environ) != 0) {
    throw IoError("cannot write the backup " + path + ": pg_dump is not installed (apt install postgresql-client)");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::filesystem::remove(path, ec);
    throw IoError("cannot write the backup " + path + ": pg_dump of " + display_url() + " failed");
  }
}

StoreCounts PgStore::counts() {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kRead);
  StoreCounts c;
  c.collections = db_->scalar("SELECT count(*) FROM collections");
  c.documents = db_->scalar("SELECT count(*) FROM documents");
  c.contents = db_->scalar("SELECT count(*) FROM contents");
  c.chunks = db_->scalar("SELECT count(*) FROM chunks");
  c.vectors = db_->scalar("SELECT count(*) FROM vectors");
  c.keyword_rows = db_->scalar("SELECT count(*) FROM keyword_docs");
  c.pending_sources = db_->scalar("SELECT count(*) FROM pending_sources");
  txn.commit();
  return c;
}

std::vector<std::string> PgStore::check_integrity() {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kRead);
  std::vector<std::string> problems;
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
      {"chunk without a keyword row",
       "SELECT c.id FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM keyword_docs f WHERE f.chunk_id = c.id)"},
      {"keyword terms in another collection than their chunk",
       "SELECT DISTINCT t.chunk_id FROM keyword_terms t JOIN chunks c ON c.id = t.chunk_id "
       "WHERE c.collection_id <> t.collection_id"},
      {"keyword statistics that disagree with the keyword rows",
       "SELECT 1 FROM keyword_stats s WHERE s.n_docs <> (SELECT count(*) FROM keyword_docs) OR "
       "s.n_terms <> (SELECT coalesce(sum(n_terms), 0) FROM keyword_docs)"},
      {"vector of the wrong size",
       "SELECT v.chunk_id FROM vectors v JOIN chunks c ON c.id = v.chunk_id JOIN collections k "
       "ON k.id = c.collection_id WHERE length(v.data) <> k.dimensions * "
       "(CASE k.vector_type WHEN 'f32' THEN 4 WHEN 'f16' THEN 2 ELSE 1 END)"},
  };
  for (const auto& [what, sql] : checks) {
    PgResult r = db_->query(std::string(sql) + " LIMIT 20");
    std::string ids;
    for (int i = 0; i < r.rows(); ++i) {
      if (!ids.empty()) ids += ", ";
      ids += std::to_string(r.i64(i, 0));
    }
    if (!ids.empty()) problems.push_back(std::string(what) + ": " + ids);
  }
  txn.commit();
  return problems;
}

}  // namespace qembed::kb
