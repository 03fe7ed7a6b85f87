#include "kb/store/sqlite_rows.hpp"

#include <nlohmann/json.hpp>

namespace qembed::kb {

FilterSql filter_sql(const SearchFilter& filter, int first_param) {
  FilterSql out;
  auto param = [&](std::string value) {
    out.params.push_back(std::move(value));
    std::string name = "?";
    name += std::to_string(first_param + static_cast<int>(out.params.size()) - 1);
    return name;
  };
  // Lists go in as one JSON array parameter each (json_each), so the statement's text does not depend on their length.
  if (!filter.document_ids.empty()) {
    out.sql += " AND d.id IN (SELECT value FROM json_each(" + param(nlohmann::json(filter.document_ids).dump()) + "))";
  }
  if (!filter.formats.empty()) {
    // Invalid UTF-8 becomes U+FFFD: such a format matches no stored one, as before.
    const std::string formats =
        nlohmann::json(filter.formats).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.sql += " AND d.format IN (SELECT value FROM json_each(" + param(formats) + "))";
  }
  for (const auto& [key, value] : filter.metadata_equals) {
    const std::string key_param = param(key);
    const std::string value_param = param(value);
    out.sql += " AND EXISTS (SELECT 1 FROM json_each(d.metadata) m WHERE m.key = " + key_param +
               " AND m.atom IS json_extract(" + value_param + ", '$'))";
  }
  return out;
}

void bind_params(Stmt& stmt, const FilterSql& filter, int first_param) {
  for (size_t i = 0; i < filter.params.size(); ++i) stmt.bind(first_param + static_cast<int>(i), filter.params[i]);
}

const char* const kCollectionColumns =
    "id, name, model_name, model_fingerprint, model_dimensions, dimensions, vector_type, chunk_tokens, "
    "overlap_tokens, prepend_title, query_instruction, created_ms, rerank";

Collection read_collection(const Stmt& s) {
  Collection c;
  c.id = s.i64(0);
  c.settings.name = s.text(1);
  c.settings.model.name = s.text(2);
  c.settings.model.fingerprint = s.text(3);
  c.settings.model.dimensions = static_cast<int32_t>(s.i64(4));
  c.settings.dimensions = static_cast<int32_t>(s.i64(5));
  c.settings.vector_type = parse_vector_type(s.text(6)).value_or(VectorType::kF32);
  c.settings.chunk_tokens = static_cast<int32_t>(s.i64(7));
  c.settings.overlap_tokens = static_cast<int32_t>(s.i64(8));
  c.settings.prepend_title = s.i64(9) != 0;
  c.settings.query_instruction = s.text(10);
  c.created_ms = s.i64(11);
  c.settings.rerank = s.i64(12) != 0;
  return c;
}

const char* const kDocumentSelect =
    "SELECT d.id, d.collection_id, d.name, d.sha256, d.format, d.size_bytes, coalesce(c.pages, 0), d.status, "
    "d.error, d.metadata, d.created_ms, d.updated_ms, d.content_id, coalesce(c.chunk_count, 0) "
    "FROM documents d LEFT JOIN contents c ON c.id = d.content_id ";

Document read_document(const Stmt& s, int first) {
  Document d;
  d.id = s.i64(first + 0);
  d.collection_id = s.i64(first + 1);
  d.name = s.text(first + 2);
  d.sha256 = s.text(first + 3);
  d.format = s.text(first + 4);
  d.size_bytes = s.i64(first + 5);
  d.pages = static_cast<int32_t>(s.i64(first + 6));
  d.status = parse_document_status(s.text(first + 7)).value_or(DocumentStatus::kFailed);
  d.error = s.text(first + 8);
  d.metadata_json = s.text(first + 9);
  d.created_ms = s.i64(first + 10);
  d.updated_ms = s.i64(first + 11);
  if (!s.is_null(first + 12)) d.content_id = s.i64(first + 12);
  d.chunk_count = static_cast<int32_t>(s.i64(first + 13));
  return d;
}

const char* const kChunkSelect =
    "SELECT id, content_id, ordinal, byte_start, byte_end, cp_start, cp_end, page_first, page_last, section_path, "
    "n_tokens, keyword_text FROM chunks ";

Chunk read_chunk(const Stmt& s) {
  Chunk c;
  c.id = s.i64(0);
  c.content_id = s.i64(1);
  c.ordinal = static_cast<int32_t>(s.i64(2));
  c.byte_start = s.i64(3);
  c.byte_end = s.i64(4);
  c.cp_start = s.i64(5);
  c.cp_end = s.i64(6);
  c.page_first = static_cast<int32_t>(s.i64(7));
  c.page_last = static_cast<int32_t>(s.i64(8));
  c.section_path = s.text(9);
  c.n_tokens = static_cast<int32_t>(s.i64(10));
  c.keyword_text = s.text(11);
  return c;
}

void bind_vector_row(Stmt& stmt, int64_t chunk_id, const VectorRow& v) {
  stmt.bind(1, chunk_id).bind_blob(2, v.data).bind(3, static_cast<double>(v.scale));
  if (v.original.empty()) {
    stmt.bind_null(4);
  } else {
    stmt.bind_blob(4, v.original);
  }
}

}  // namespace qembed::kb
