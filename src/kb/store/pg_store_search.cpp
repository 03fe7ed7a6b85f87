// PgStore, the part searches and indexes read: chunk texts (byte ranges of the stored text), filters, vectors and
// their replacement, the change log, and BM25 keyword search with its common-term cutoff. Collections, documents and
// maintenance are in pg_store.cpp.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "common/error.hpp"
#include "kb/store/pg_conn.hpp"
#include "kb/store/pg_rows.hpp"
#include "kb/store/pg_store.hpp"
#include "kb/store/vector_codec.hpp"
#include "kb/store/write_rules.hpp"

namespace qembed::kb {
namespace {

constexpr int32_t kMaxKeywordTerms = 256;
constexpr int32_t kMaxHits = 10000;
// FTS5's bm25() defaults.
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

}  // namespace

// --- content

std::optional<std::string> PgStore::content_text(int64_t content_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query("SELECT text FROM contents WHERE id = $1", PgParams().add(content_id), true);
  if (r.rows() == 0) return std::nullopt;
  const auto b = r.raw(0, 0);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::optional<std::string> PgStore::content_title(int64_t content_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query("SELECT title FROM contents WHERE id = $1", PgParams().add(content_id));
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::vector<Chunk> PgStore::content_chunks(int64_t content_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r =
      db_->query(std::string(pg::kChunkSelect) + "WHERE content_id = $1 ORDER BY ordinal", PgParams().add(content_id));
  std::vector<Chunk> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(pg::read_chunk(r, i));
  return out;
}

std::vector<Chunk> PgStore::get_chunks(std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r =
      db_->query(std::string(pg::kChunkSelect) + "WHERE id = ANY($1::bigint[])", PgParams().add_int_array(chunk_ids));
  std::map<int64_t, Chunk> by_id;
  for (int i = 0; i < r.rows(); ++i) {
    Chunk c = pg::read_chunk(r, i);
    by_id.emplace(c.id, std::move(c));
  }
  std::vector<Chunk> out;
  out.reserve(chunk_ids.size());
  for (int64_t id : chunk_ids) {
    if (auto it = by_id.find(id); it != by_id.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> PgStore::chunk_texts(std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  // substring() of an uncompressed (STORAGE EXTERNAL) bytea reads only the TOAST slices holding the chunk's bytes.
  PgResult r = db_->query(
      "SELECT c.id, substring(t.text FROM (c.byte_start + 1)::int FOR (c.byte_end - c.byte_start)::int) "
      "FROM chunks c JOIN contents t ON t.id = c.content_id "
      "WHERE c.id = ANY($1::bigint[]) AND c.byte_end > c.byte_start AND c.byte_end <= length(t.text)",
      PgParams().add_int_array(chunk_ids), true);
  std::map<int64_t, std::string> by_id;
  for (int i = 0; i < r.rows(); ++i) {
    const auto b = r.raw(i, 1);
    by_id[r.i64(i, 0)] = std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::vector<std::string> out(chunk_ids.size());
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    if (auto it = by_id.find(chunk_ids[i]); it != by_id.end()) out[i] = it->second;
  }
  return out;
}

std::vector<std::pair<int64_t, Document>> PgStore::documents_for_contents(std::span<const int64_t> content_ids,
                                                                          const SearchFilter& filter) {
  PgParams p;
  p.add_int_array(content_ids);
  const std::string where = pg::filter_sql(filter, p);
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r =
      db_->query(std::string(pg::kDocumentSelect) + "WHERE d.content_id = ANY($1::bigint[]) AND d.status = 'indexed'" +
                     where + " ORDER BY d.content_id, d.id",
                 p);
  std::vector<std::pair<int64_t, Document>> out;
  for (int i = 0; i < r.rows(); ++i) {
    Document d = pg::read_document(r, i);
    const int64_t content = *d.content_id;
    out.emplace_back(content, std::move(d));
  }
  return out;
}

std::vector<int64_t> PgStore::filter_chunk_ids(int64_t collection_id, const SearchFilter& filter) {
  PgParams p;
  p.add(collection_id);
  const std::string where = pg::filter_sql(filter, p);
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(
      "SELECT c.id FROM chunks c WHERE c.collection_id = $1 AND EXISTS (SELECT 1 FROM documents d "
      "WHERE d.content_id = c.content_id AND d.status = 'indexed'" +
          where + ") ORDER BY c.id",
      p);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.i64(i, 0));
  return out;
}

// --- vectors

int64_t PgStore::scan_vectors(int64_t collection_id, const std::function<void(const StoredVector&)>& fn) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kRead);  // one snapshot: the vectors and the sequence agree
  require_collection(collection_id);
  const int64_t seq =
      db_->scalar("SELECT coalesce(max(seq), 0) FROM changes WHERE collection_id = $1", PgParams().add(collection_id));
  // Pages by chunk id, so a large collection is not one result in memory.
  int64_t after = 0;
  for (;;) {
    PgResult r = db_->query(
        "SELECT v.chunk_id, v.data, v.scale FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
        "WHERE c.collection_id = $1 AND c.id > $2 ORDER BY c.id LIMIT 20000",
        PgParams().add(collection_id).add(after), true);
    for (int i = 0; i < r.rows(); ++i) fn(StoredVector{r.i64(i, 0), r.raw(i, 1), static_cast<float>(r.f64(i, 2))});
    if (r.rows() < 20000) break;
    after = r.i64(r.rows() - 1, 0);
  }
  txn.commit();
  return seq;
}

void PgStore::scan_vector_range(int64_t collection_id, int64_t first_chunk_id, int64_t last_chunk_id,
                                const std::function<void(const StoredVector&)>& fn) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(
      "SELECT v.chunk_id, v.data, v.scale FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
      "WHERE c.collection_id = $1 AND c.id BETWEEN $2 AND $3 ORDER BY c.id",
      PgParams().add(collection_id).add(first_chunk_id).add(last_chunk_id), true);
  for (int i = 0; i < r.rows(); ++i) fn(StoredVector{r.i64(i, 0), r.raw(i, 1), static_cast<float>(r.f64(i, 2))});
}

std::vector<float> PgStore::load_vectors_f32(int64_t collection_id, std::span<const int64_t> chunk_ids) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kRead);
  const Collection collection = require_collection(collection_id);
  const size_t dims = static_cast<size_t>(collection.settings.dimensions);
  PgResult r = db_->query(
      "SELECT v.chunk_id, v.data, v.scale, v.original FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
      "WHERE v.chunk_id = ANY($1::bigint[]) AND c.collection_id = $2",
      PgParams().add_int_array(chunk_ids).add(collection_id), true);
  std::map<int64_t, int> row_of;
  for (int i = 0; i < r.rows(); ++i) row_of[r.i64(i, 0)] = i;
  std::vector<float> out(chunk_ids.size() * dims);
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    const auto it = row_of.find(chunk_ids[i]);
    if (it == row_of.end()) {
      throw Error("chunk " + std::to_string(chunk_ids[i]) + " has no vector in collection '" +
                  collection.settings.name + "'");
    }
    const int row = it->second;
    const std::span<float> dst(out.data() + i * dims, dims);
    const std::span<const uint8_t> original = r.is_null(row, 3) ? std::span<const uint8_t>() : r.raw(row, 3);
    if (!decode_vector_row(collection.settings.vector_type, r.raw(row, 1), static_cast<float>(r.f64(row, 2)),
                           original, dst)) {
      throw IoError("knowledge-base database " + display_url() + ": vector of chunk " + std::to_string(chunk_ids[i]) +
                    " has the wrong size");
    }
  }
  txn.commit();
  return out;
}

void PgStore::replace_vectors(int64_t collection_id, const ModelIdentity& model, int32_t dimensions,
                              std::span<const int64_t> chunk_ids, std::span<const float> vectors) {
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kWrite);
  const Collection collection = require_collection(collection_id);
  const size_t dims = require_replacement_fits(model, dimensions, chunk_ids, vectors);
  std::vector<int64_t> stored;
  {
    PgResult r =
        db_->query("SELECT id FROM chunks WHERE collection_id = $1 ORDER BY id", PgParams().add(collection_id));
    for (int i = 0; i < r.rows(); ++i) stored.push_back(r.i64(i, 0));
  }
  require_all_chunks_named(collection, stored, chunk_ids);
  const VectorType type = collection.settings.vector_type;
  for (size_t i = 0; i < chunk_ids.size(); ++i) {
    const std::span<const float> vec(vectors.data() + i * dims, dims);
    const VectorRow v = encode_vector_row(type, vec);
    db_->query("UPDATE vectors SET data = $2, scale = $3, original = $4::bytea WHERE chunk_id = $1",
               pg::vector_row_params(chunk_ids[i], v));
  }
  db_->query(
      "UPDATE collections SET model_name = $2, model_fingerprint = $3, model_dimensions = $4, dimensions = $5 "
      "WHERE id = $1",
      PgParams().add(collection_id).add(model.name).add(model.fingerprint).add(model.dimensions).add(dimensions));
  for (int added = 0; added <= 1; ++added) {
    db_->query(
        "INSERT INTO changes (collection_id, added, content_id, first_chunk_id, last_chunk_id) "
        "SELECT $1, $2::boolean, content_id, min(id), max(id) FROM chunks WHERE collection_id = $1 "
        "GROUP BY content_id ORDER BY content_id",
        PgParams().add(collection_id).add_bool(added != 0));
  }
  txn.commit();
}

// --- change sequence

int64_t PgStore::change_seq(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  return db_->scalar("SELECT coalesce(max(seq), 0) FROM changes WHERE collection_id = $1",
                     PgParams().add(collection_id));
}

std::vector<VectorChange> PgStore::changes_since(int64_t collection_id, int64_t after_seq, int32_t limit) {
  std::lock_guard lock(mutex_);
  db_->ensure_connected();
  PgResult r = db_->query(
      "SELECT seq, added, content_id, first_chunk_id, last_chunk_id FROM changes "
      "WHERE collection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
      PgParams().add(collection_id).add(after_seq).add(static_cast<int64_t>(std::max(limit, 0))));
  std::vector<VectorChange> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(VectorChange{r.i64(i, 0), r.boolean(i, 1), r.i64(i, 2), r.i64(i, 3), r.i64(i, 4)});
  }
  return out;
}

// --- keyword search

std::vector<KeywordHit> PgStore::keyword_search(int64_t collection_id, std::string_view query_terms, int32_t k,
                                                const SearchFilter& filter) {
  if (k <= 0 || k > kMaxHits) throw Error("keyword search: k must be 1.." + std::to_string(kMaxHits));
  // Whitespace-separated query terms, as SQLite's; each is then tokenized as FTS5 would tokenize the quoted term.
  // (A quoted term of several tokens is a phrase in FTS5; here its tokens count as separate terms.)
  std::vector<std::string> tokens;
  {
    size_t i = 0, n_terms = 0;
    while (i < query_terms.size()) {
      while (i < query_terms.size() && std::isspace(static_cast<unsigned char>(query_terms[i]))) ++i;
      const size_t start = i;
      while (i < query_terms.size() && !std::isspace(static_cast<unsigned char>(query_terms[i]))) ++i;
      if (i == start) break;
      if (static_cast<int32_t>(++n_terms) > kMaxKeywordTerms) {
        throw Error("keyword search: at most " + std::to_string(kMaxKeywordTerms) + " query terms");
      }
      for (auto& t : pg_keyword_tokens(query_terms.substr(start, i - start))) {
        if (std::find(tokens.begin(), tokens.end(), t) == tokens.end()) tokens.push_back(std::move(t));
      }
    }
  }
  if (tokens.empty()) return {};
  PgParams fp;
  fp.add(int64_t{0}).add(int64_t{0}).add(int64_t{0}).add(int64_t{0});  // $1..$4: terms, idfs, collection, k
  fp.add(0.0);                                                         // $5: average length
  const std::string where = pg::filter_sql(filter, fp);
  std::lock_guard lock(mutex_);
  PgTxn txn(*db_, PgTxn::Kind::kRead);
  // Store-wide statistics, as FTS5's: rows N, average length, and each term's document frequency.
  double n_docs = 0, avg_len = 1;
  {
    PgResult r = db_->query("SELECT n_docs, n_terms FROM keyword_stats WHERE id = 1");
    if (r.rows() > 0) {
      n_docs = static_cast<double>(r.i64(0, 0));
      avg_len = n_docs > 0 ? static_cast<double>(r.i64(0, 1)) / n_docs : 1;
    }
  }
  std::vector<std::pair<int64_t, std::string>> by_frequency;
  {
    PgResult r = db_->query(
        "SELECT u.t, (SELECT count(*) FROM keyword_terms k WHERE k.term = u.t) FROM unnest($1::text[]) AS u(t)",
        PgParams().add_text_array(tokens));
    for (int i = 0; i < r.rows(); ++i) by_frequency.emplace_back(r.i64(i, 1), r.text(i, 0));
  }
  std::stable_sort(by_frequency.begin(), by_frequency.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // The common-term cutoff (store.hpp): rarest first, kept while their chunks fit the row budget.
  std::vector<std::string> kept;
  std::vector<double> idfs;
  int64_t rows = 0;
  for (const auto& [frequency, term] : by_frequency) {
    if (frequency == 0) continue;
    if (!kept.empty() && rows + frequency > options_.keyword_row_budget) break;
    rows += frequency;
    kept.push_back(term);
    const double n = static_cast<double>(frequency);
    double idf = std::log((n_docs - n + 0.5) / (n + 0.5));
    if (idf <= 0.0) idf = 1e-6;  // FTS5's floor
    idfs.push_back(idf);
  }
  if (kept.empty()) {
    txn.commit();
    return {};
  }
  PgParams p;
  p.add_text_array(kept).add_float_array(idfs).add(collection_id).add(static_cast<int64_t>(k)).add(avg_len);
  pg::filter_sql(filter, p);
  std::string sql = "SELECT c.id, c.content_id, sum(q.idf * t.tf * " + std::to_string(kK1 + 1) + " / (t.tf + " +
                    std::to_string(kK1) + " * (1 - " + std::to_string(kB) + " + " + std::to_string(kB) +
                    " * f.n_terms / $5::float8))) AS score "
                    "FROM unnest($1::text[], $2::float8[]) AS q(term, idf) "
                    "JOIN keyword_terms t ON t.collection_id = $3 AND t.term = q.term "
                    "JOIN keyword_docs f ON f.chunk_id = t.chunk_id JOIN chunks c ON c.id = t.chunk_id";
  if (!filter.empty()) {
    sql += " WHERE EXISTS (SELECT 1 FROM documents d WHERE d.content_id = c.content_id AND d.status = 'indexed'" +
           where + ")";
  }
  sql += " GROUP BY c.id, c.content_id ORDER BY score DESC, c.id LIMIT $4";
  PgResult r = db_->query(sql, p);
  std::vector<KeywordHit> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(KeywordHit{r.i64(i, 0), r.i64(i, 1), r.f64(i, 2)});
  txn.commit();
  return out;
}

}  // namespace qembed::kb
