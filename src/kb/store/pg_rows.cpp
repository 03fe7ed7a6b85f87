#include "kb/store/pg_rows.hpp"

#include <nlohmann/json.hpp>

namespace qembed::kb::pg {
namespace {

// Invalid UTF-8 becomes U+FFFD (PostgreSQL refuses it): such a value matches nothing stored, as in SQLite.
std::string valid_utf8(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
std::string unquote(const std::string& json_string) { return nlohmann::json::parse(json_string).get<std::string>(); }

}  // namespace

std::string filter_sql(const SearchFilter& filter, PgParams& params) {
  std::string sql;
  auto next = [&] {
    std::string n = std::to_string(params.size());
    n.insert(0, 1, '$');  // (not "$" + ...: GCC 12 -Wrestrict false positive)
    return n;
  };
  if (!filter.document_ids.empty()) {
    params.add_int_array(filter.document_ids);
    sql += " AND d.id = ANY(" + next() + "::bigint[])";
  }
  if (!filter.formats.empty()) {
    std::vector<std::string> formats;
    for (const auto& f : filter.formats) formats.push_back(unquote(valid_utf8(f)));
    params.add_text_array(formats);
    sql += " AND d.format = ANY(" + next() + "::text[])";
  }
  for (const auto& [key, value] : filter.metadata_equals) {
    params.add(unquote(valid_utf8(key)));
    const std::string k = next();
    params.add(value);
    const std::string v = next();
    sql += " AND (d.metadata::jsonb -> " + k + "::text) = " + v + "::jsonb";
  }
  return sql;
}

const char* const kCollectionColumns =
    "id, name, model_name, model_fingerprint, model_dimensions, dimensions, vector_type, chunk_tokens, "
    "overlap_tokens, prepend_title, query_instruction, created_ms, rerank";

Collection read_collection(const PgResult& r, int row) {
  Collection c;
  c.id = r.i64(row, 0);
  c.settings.name = r.text(row, 1);
  c.settings.model.name = r.text(row, 2);
  c.settings.model.fingerprint = r.text(row, 3);
  c.settings.model.dimensions = static_cast<int32_t>(r.i64(row, 4));
  c.settings.dimensions = static_cast<int32_t>(r.i64(row, 5));
  c.settings.vector_type = parse_vector_type(r.text(row, 6)).value_or(VectorType::kF32);
  c.settings.chunk_tokens = static_cast<int32_t>(r.i64(row, 7));
  c.settings.overlap_tokens = static_cast<int32_t>(r.i64(row, 8));
  c.settings.prepend_title = r.boolean(row, 9);
  c.settings.query_instruction = r.text(row, 10);
  c.created_ms = r.i64(row, 11);
  c.settings.rerank = r.boolean(row, 12);
  return c;
}

const char* const kDocumentSelect =
    "SELECT d.id, d.collection_id, d.name, d.sha256, d.format, d.size_bytes, coalesce(c.pages, 0), d.status, "
    "d.error, d.metadata, d.created_ms, d.updated_ms, d.content_id, coalesce(c.chunk_count, 0) "
    "FROM documents d LEFT JOIN contents c ON c.id = d.content_id ";

Document read_document(const PgResult& r, int row) {
  Document d;
  d.id = r.i64(row, 0);
  d.collection_id = r.i64(row, 1);
  d.name = r.text(row, 2);
  d.sha256 = r.text(row, 3);
  d.format = r.text(row, 4);
  d.size_bytes = r.i64(row, 5);
  d.pages = static_cast<int32_t>(r.i64(row, 6));
  d.status = parse_document_status(r.text(row, 7)).value_or(DocumentStatus::kFailed);
  d.error = r.text(row, 8);
  d.metadata_json = r.text(row, 9);
  d.created_ms = r.i64(row, 10);
  d.updated_ms = r.i64(row, 11);
  if (!r.is_null(row, 12)) d.content_id = r.i64(row, 12);
  d.chunk_count = static_cast<int32_t>(r.i64(row, 13));
  return d;
}

const char* const kChunkSelect =
    "SELECT id, content_id, ordinal, byte_start, byte_end, cp_start, cp_end, page_first, page_last, section_path, "
    "n_tokens, keyword_text FROM chunks ";

Chunk read_chunk(const PgResult& r, int row) {
  Chunk c;
  c.id = r.i64(row, 0);
  c.content_id = r.i64(row, 1);
  c.ordinal = static_cast<int32_t>(r.i64(row, 2));
  c.byte_start = r.i64(row, 3);
  c.byte_end = r.i64(row, 4);
  c.cp_start = r.i64(row, 5);
  c.cp_end = r.i64(row, 6);
  c.page_first = static_cast<int32_t>(r.i64(row, 7));
  c.page_last = static_cast<int32_t>(r.i64(row, 8));
  c.section_path = r.text(row, 9);
  c.n_tokens = static_cast<int32_t>(r.i64(row, 10));
  c.keyword_text = r.text(row, 11);
  return c;
}

PgParams vector_row_params(int64_t chunk_id, const VectorRow& v) {
  PgParams p;
  p.add(chunk_id).add_bytes(v.data).add(static_cast<double>(v.scale));
  if (v.original.empty()) {
    p.add_null();
  } else {
    p.add_bytes(v.original);
  }
  return p;
}

}  // namespace qembed::kb::pg
