// SqliteStore, the part searches and indexes read: chunk texts (incremental blob reads), filters, vectors and their
// replacement, the change log, and BM25 keyword search with its common-term cutoff. Collections, documents and
// maintenance are in sqlite_store.cpp.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/error.hpp"
#include "kb/store/sqlite_db.hpp"
#include "kb/store/sqlite_rows.hpp"
#include "kb/store/sqlite_store.hpp"
#include "kb/store/vector_codec.hpp"
#include "kb/store/write_rules.hpp"

namespace qembed::kb {
namespace {

constexpr int32_t kMaxKeywordTerms = 256;
constexpr int32_t kMaxHits = 10000;

}  // namespace

std::vector<std::string> SqliteStore::chunk_texts(std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  std::vector<std::string> out(chunk_ids.size());
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    Stmt s = db_->prepare("SELECT content_id, byte_start, byte_end FROM chunks WHERE id = ?1");
    if (!s.bind(1, chunk_ids[i]).step()) continue;
    const int64_t content_id = s.i64(0), start = s.i64(1), end = s.i64(2);
    if (end <= start) continue;
    // Incremental blob I/O reads only the pages holding the chunk's bytes: a search hit in a 50 MB document must
    // not load the whole text.
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(db_->handle(), "main", "contents", "text", content_id, 0, &blob) != SQLITE_OK) {
      if (blob) sqlite3_blob_close(blob);
      throw IoError("knowledge-base database " + path_ + ": cannot read the text of content " +
                    std::to_string(content_id) + ": " + sqlite3_errmsg(db_->handle()));
    }
    const int64_t size = sqlite3_blob_bytes(blob);
    std::string& text = out[i];
    if (end <= size) {
      text.resize(static_cast<size_t>(end - start));
      if (sqlite3_blob_read(blob, text.data(), static_cast<int>(end - start), static_cast<int>(start)) != SQLITE_OK)
        text.clear();
    }
    sqlite3_blob_close(blob);
  }
  txn.commit();
  return out;
}

std::vector<std::pair<int64_t, Document>> SqliteStore::documents_for_contents(std::span<const int64_t> content_ids,
                                                                              const SearchFilter& filter) {
  std::string ids = "[";
  for (size_t i = 0; i < content_ids.size(); ++i) {
    if (i) ids += ',';
    ids += std::to_string(content_ids[i]);
  }
  ids += "]";
  const FilterSql where = filter_sql(filter, 2);
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(std::string(kDocumentSelect) +
                        "WHERE d.content_id IN (SELECT value FROM json_each(?1)) AND d.status = 'indexed'" + where.sql +
                        " ORDER BY d.content_id, d.id");
  s.bind(1, ids);
  bind_params(s, where, 2);
  std::vector<std::pair<int64_t, Document>> out;
  while (s.step()) {
    Document d = read_document(s);
    const int64_t content = *d.content_id;
    out.emplace_back(content, std::move(d));
  }
  return out;
}

std::vector<int64_t> SqliteStore::filter_chunk_ids(int64_t collection_id, const SearchFilter& filter) {
  const FilterSql where = filter_sql(filter, 2);
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(
      "SELECT c.id FROM chunks c WHERE c.collection_id = ?1 AND EXISTS (SELECT 1 FROM documents d "
      "WHERE d.content_id = c.content_id AND d.status = 'indexed'" +
      where.sql + ") ORDER BY c.id");
  s.bind(1, collection_id);
  bind_params(s, where, 2);
  std::vector<int64_t> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

// --- vectors

int64_t SqliteStore::scan_vectors(int64_t collection_id, const std::function<void(const StoredVector&)>& fn) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  require_collection(collection_id);
  const int64_t seq = [&] {
    Stmt s = db_->prepare("SELECT coalesce(max(seq), 0) FROM changes WHERE collection_id = ?1");
    s.bind(1, collection_id).step();
    return s.i64(0);
  }();
  Stmt s = db_->prepare(
      "SELECT v.chunk_id, v.data, v.scale FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
      "WHERE c.collection_id = ?1 ORDER BY c.id");
  s.bind(1, collection_id);
  while (s.step()) fn(StoredVector{s.i64(0), s.blob(1), static_cast<float>(s.f64(2))});
  s.run();
  txn.commit();
  return seq;
}

void SqliteStore::scan_vector_range(int64_t collection_id, int64_t first_chunk_id, int64_t last_chunk_id,
                                    const std::function<void(const StoredVector&)>& fn) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(
      "SELECT v.chunk_id, v.data, v.scale FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
      "WHERE c.collection_id = ?1 AND c.id BETWEEN ?2 AND ?3 ORDER BY c.id");
  s.bind(1, collection_id).bind(2, first_chunk_id).bind(3, last_chunk_id);
  while (s.step()) fn(StoredVector{s.i64(0), s.blob(1), static_cast<float>(s.f64(2))});
}

std::vector<float> SqliteStore::load_vectors_f32(int64_t collection_id, std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kRead);
  const Collection collection = require_collection(collection_id);
  const size_t dims = static_cast<size_t>(collection.settings.dimensions);
  std::vector<float> out(chunk_ids.size() * dims);
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    Stmt s = db_->prepare(
        "SELECT v.data, v.scale, v.original FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
        "WHERE v.chunk_id = ?1 AND c.collection_id = ?2");
    if (!s.bind(1, chunk_ids[i]).bind(2, collection_id).step()) {
      throw Error("chunk " + std::to_string(chunk_ids[i]) + " has no vector in collection '" +
                  collection.settings.name + "'");
    }
    const std::span<float> row(out.data() + i * dims, dims);
    const std::span<const uint8_t> original = s.is_null(2) ? std::span<const uint8_t>() : s.blob(2);
    if (!decode_vector_row(collection.settings.vector_type, s.blob(0), static_cast<float>(s.f64(1)), original, row)) {
      throw IoError("knowledge-base database " + path_ + ": vector of chunk " + std::to_string(chunk_ids[i]) +
                    " has the wrong size");
    }
  }
  txn.commit();
  return out;
}

void SqliteStore::replace_vectors(int64_t collection_id, const ModelIdentity& model, int32_t dimensions,
                                  std::span<const int64_t> chunk_ids, std::span<const float> vectors) {
  std::lock_guard lock(mutex_);
  Transaction txn(*db_, Transaction::Kind::kWrite);
  const Collection collection = require_collection(collection_id);
  const size_t dims = require_replacement_fits(model, dimensions, chunk_ids, vectors);
  std::vector<int64_t> stored;
  {
    Stmt s = db_->prepare("SELECT id FROM chunks WHERE collection_id = ?1 ORDER BY id");
    s.bind(1, collection_id);
    while (s.step()) stored.push_back(s.i64(0));
  }
  require_all_chunks_named(collection, stored, chunk_ids);
  const VectorType type = collection.settings.vector_type;
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    const std::span<const float> vec(vectors.data() + i * dims, dims);
    const VectorRow v = encode_vector_row(type, vec);
    Stmt update = db_->prepare("UPDATE vectors SET data = ?2, scale = ?3, original = ?4 WHERE chunk_id = ?1");
    bind_vector_row(update, chunk_ids[i], v);
    update.run();
  }
  db_->prepare(
         "UPDATE collections SET model_name = ?2, model_fingerprint = ?3, model_dimensions = ?4, dimensions = ?5 "
         "WHERE id = ?1")
      .bind(1, collection_id)
      .bind(2, model.name)
      .bind(3, model.fingerprint)
      .bind(4, model.dimensions)
      .bind(5, dimensions)
      .run();
  // Every content leaves and comes back: an index replaying the log drops the old vectors and loads the new ones.
  for (int added = 0; added <= 1; ++added) {
    db_->prepare(
           "INSERT INTO changes (collection_id, added, content_id, first_chunk_id, last_chunk_id) "
           "SELECT ?1, ?2, content_id, min(id), max(id) FROM chunks WHERE collection_id = ?1 GROUP BY content_id "
           "ORDER BY content_id")
        .bind(1, collection_id)
        .bind(2, static_cast<int64_t>(added))
        .run();
  }
  txn.commit();
}

// --- change sequence

int64_t SqliteStore::change_seq(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare("SELECT coalesce(max(seq), 0) FROM changes WHERE collection_id = ?1");
  s.bind(1, collection_id).step();
  return s.i64(0);
}

std::vector<VectorChange> SqliteStore::changes_since(int64_t collection_id, int64_t after_seq, int32_t limit) {
  std::lock_guard lock(mutex_);
  Stmt s = db_->prepare(
      "SELECT seq, added, content_id, first_chunk_id, last_chunk_id FROM changes "
      "WHERE collection_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  s.bind(1, collection_id).bind(2, after_seq).bind(3, static_cast<int64_t>(std::max(limit, 0)));
  std::vector<VectorChange> out;
  while (s.step()) out.push_back(VectorChange{s.i64(0), s.i64(1) != 0, s.i64(2), s.i64(3), s.i64(4)});
  return out;
}

// --- keyword search

std::vector<KeywordHit> SqliteStore::keyword_search(int64_t collection_id, std::string_view query_terms, int32_t k,
                                                    const SearchFilter& filter) {
  if (k <= 0 || k > kMaxHits) throw Error("keyword search: k must be 1.." + std::to_string(kMaxHits));
  std::vector<std::string_view> terms;
  size_t i = 0;
  while (i < query_terms.size()) {
    while (i < query_terms.size() && std::isspace(static_cast<unsigned char>(query_terms[i]))) ++i;
    const size_t start = i;
    while (i < query_terms.size() && !std::isspace(static_cast<unsigned char>(query_terms[i]))) ++i;
    if (i == start) break;
    if (static_cast<int32_t>(terms.size()) >= kMaxKeywordTerms) {
      throw Error("keyword search: at most " + std::to_string(kMaxKeywordTerms) + " query terms");
    }
    terms.push_back(query_terms.substr(start, i - start));
  }
  if (terms.empty()) return {};
  std::lock_guard lock(mutex_);
  // The common-term cutoff (store.hpp): each term's document frequency from FTS5's own vocabulary, rarest first,
  // kept while their chunks fit the row budget.
  std::vector<std::pair<int64_t, std::string_view>> by_frequency;
  {
    for (std::string_view term : terms) {
      Stmt df = db_->prepare("SELECT doc FROM temp.chunk_fts_vocab WHERE term = ?1");
      by_frequency.emplace_back(df.bind(1, term).step() ? df.i64(0) : 0, term);
    }
  }
  std::stable_sort(by_frequency.begin(), by_frequency.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Every term is quoted (FTS5 string syntax: a double quote is doubled), so no query text is ever FTS5 syntax.
  std::string match;
  int64_t rows = 0;
  for (const auto& [frequency, term] : by_frequency) {
    if (frequency == 0) continue;  // in no chunk: changes nothing
    if (!match.empty() && rows + frequency > options_.keyword_row_budget) break;
    rows += frequency;
    if (!match.empty()) match += " OR ";
    match += '"';
    for (char c : term) match += (c == '"') ? std::string("\"\"") : std::string(1, c);
    match += '"';
  }
  if (match.empty()) return {};
  const FilterSql where = filter_sql(filter, 4);
  std::string sql =
      "SELECT c.id, c.content_id, bm25(chunk_fts) AS rank FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid "
      "WHERE chunk_fts MATCH ?1 AND c.collection_id = ?2";
  if (!filter.empty()) {
    sql += " AND EXISTS (SELECT 1 FROM documents d WHERE d.content_id = c.content_id AND d.status = 'indexed'" +
           where.sql + ")";
  }
  sql += " ORDER BY rank LIMIT ?3";
  Stmt s = db_->prepare(sql);
  s.bind(1, match).bind(2, collection_id).bind(3, static_cast<int64_t>(k));
  bind_params(s, where, 4);
  std::vector<KeywordHit> out;
  while (s.step()) out.push_back(KeywordHit{s.i64(0), s.i64(1), -s.f64(2)});
  return out;
}

// --- maintenance

}  // namespace qembed::kb
