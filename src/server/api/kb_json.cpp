#include "server/api/kb_json.hpp"

#include <cmath>

#include "server/api/errors.hpp"
#include "server/api/request_parsing.hpp"

namespace qembed::server::api {

using nlohmann::json;

namespace {

json optional_int(int64_t v, bool present) { return present ? json(v) : json(nullptr); }

std::optional<double> opt_number(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    throw ApiError(Failure::kInvalidInput, std::string(field) + " must be a number, got " + json_type_name(*it), field);
  }
  return it->get<double>();
}

int32_t int_in_range(const json& body, const char* field, int32_t fallback, int64_t lo, int64_t hi) {
  const std::optional<int64_t> v = opt_int(body, field);
  if (!v) return fallback;
  if (*v < lo || *v > hi) {
    throw ApiError(Failure::kInvalidInput,
                   std::string(field) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", got " + std::to_string(*v),
                   field);
  }
  return static_cast<int32_t>(*v);
}

void reject_unknown_fields(const json& body, std::initializer_list<const char*> known, const std::string& where) {
  for (const auto& [key, _] : body.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      throw ApiError(Failure::kInvalidInput, "unknown field \"" + key.substr(0, 64) + "\" in " + where + " (known: " +
                                                 list + ")",
                     key.substr(0, 64));
    }
  }
}

kb::SearchFilter parse_filter(const json& f) {
  if (!f.is_object()) throw ApiError(Failure::kInvalidInput, "filter must be an object, got " + json_type_name(f), "filter");
  reject_unknown_fields(f, {"document_ids", "formats", "metadata"}, "filter");
  kb::SearchFilter out;
  if (auto it = f.find("document_ids"); it != f.end() && !it->is_null()) {
    if (!it->is_array()) throw ApiError(Failure::kInvalidInput, "filter.document_ids must be an array of integers", "filter");
    for (const json& id : *it) {
      if (!id.is_number_integer()) {
        throw ApiError(Failure::kInvalidInput, "filter.document_ids must hold integers, got " + json_type_name(id),
                       "filter");
      }
      out.document_ids.push_back(id.get<int64_t>());
    }
  }
  if (auto it = f.find("formats"); it != f.end() && !it->is_null()) {
    if (!it->is_array()) throw ApiError(Failure::kInvalidInput, "filter.formats must be an array of strings", "filter");
    for (const json& fmt : *it) {
      if (!fmt.is_string()) {
        throw ApiError(Failure::kInvalidInput, "filter.formats must hold strings, got " + json_type_name(fmt), "filter");
      }
      out.formats.push_back(fmt.get<std::string>());
    }
  }
  if (auto it = f.find("metadata"); it != f.end() && !it->is_null()) {
    if (!it->is_object()) {
      throw ApiError(Failure::kInvalidInput, "filter.metadata must be an object of key: value", "filter");
    }
    for (const auto& [key, value] : it->items()) {
      if (!value.is_primitive() || value.is_null()) {
        throw ApiError(Failure::kInvalidInput,
                       "filter.metadata." + key.substr(0, 64) + " must be a string, number or boolean, got " +
                           json_type_name(value),
                       "filter");
      }
      out.metadata_equals.emplace_back(key, value.dump());
    }
  }
  return out;
}

}  // namespace

json metadata_value(const std::string& metadata_json) {
  if (metadata_json.empty()) return json::object();
  try {
    return json::parse(metadata_json);
  } catch (const json::exception&) {
    return metadata_json;
  }
}

json collection_json(const kb::Collection& c, const std::optional<kb::DocumentCounts>& counts,
                     std::optional<int64_t> chunks, bool model_matches) {
  const kb::CollectionSettings& s = c.settings;
  json out = {{"id", c.id},
              {"name", s.name},
              {"model", {{"name", s.model.name}, {"fingerprint", s.model.fingerprint}, {"dimensions", s.model.dimensions}}},
              {"model_matches", model_matches},
              {"dimensions", s.dimensions},
              {"vector_type", kb::vector_type_name(s.vector_type)},
              {"chunk_tokens", s.chunk_tokens},
              {"chunk_overlap", s.overlap_tokens},
              {"prepend_title", s.prepend_title},
              {"query_instruction", s.query_instruction},
              {"created_ms", c.created_ms}};
  if (counts) {
    out["documents"] = {{"pending", counts->pending}, {"indexed", counts->indexed}, {"failed", counts->failed}};
  }
  out["chunks"] = chunks ? json(*chunks) : json(nullptr);
  return out;
}

json document_json(const kb::Document& d) {
  json out = {{"id", d.id},
              {"name", d.name},
              {"format", d.format},
              {"sha256", d.sha256},
              {"size_bytes", d.size_bytes},
              {"pages", d.pages},
              {"status", kb::document_status_name(d.status)},
              {"chunks", d.chunk_count},
              {"metadata", metadata_value(d.metadata_json)},
              {"created_ms", d.created_ms},
              {"updated_ms", d.updated_ms}};
  if (d.status == kb::DocumentStatus::kFailed) out["error"] = d.error;
  return out;
}

json outcome_json(const kb::IngestOutcome& o, const std::string& file) {
  json out = {{"file", file.empty() ? o.name : file},
              {"name", o.name},
              {"document_id", optional_int(o.document_id, o.document_id != 0)},
              {"status", kb::ingest_status_name(o.status)},
              {"chunks", o.chunks},
              {"tokens", o.tokens}};
  if (o.status == kb::IngestStatus::kFailed) out["error"] = o.error;
  return out;
}

json job_json(const kb::JobProgress& job, const std::string& collection_name, bool with_documents) {
  const bool done = job.state == "done";
  json out = {{"id", job.id},
              {"collection", collection_name},
              {"state", job.state},
              {"total", job.total},
              {"finished", job.finished},
              {"indexed", job.indexed},
              {"duplicates", job.duplicates},
              {"replaced", job.replaced},
              {"failed", job.failed},
              {"tokens", job.tokens},
              {"progress", job.total > 0 ? static_cast<double>(job.finished) / static_cast<double>(job.total) : 1.0},
              {"created_ms", job.created_ms},
              {"finished_ms", optional_int(job.finished_ms, done)}};
  if (with_documents) {
    json docs = json::array();
    for (const kb::IngestOutcome& o : job.outcomes) docs.push_back(outcome_json(o));
    out["documents"] = std::move(docs);
  }
  return out;
}

json hit_json(const kb::SearchHit& h) {
  json out = {{"rank", h.rank},         {"score", h.score},       {"chunk_id", h.chunk_id},
              {"document_id", h.document_id}, {"document", h.document}, {"format", h.format}};
  if (h.page_first > 0) {
    out["page"] = h.page_first;
    if (h.page_last > h.page_first) out["page_last"] = h.page_last;
  }
  if (!h.section.empty()) out["section"] = h.section;
  out["text"] = h.text;
  out["start"] = h.start;
  out["end"] = h.end;
  json highlights = json::array();
  for (const auto& [s, e] : h.highlights) highlights.push_back({s, e});
  out["highlights"] = std::move(highlights);
  if (h.vector_score) out["vector_score"] = *h.vector_score;
  if (h.keyword_score) out["keyword_score"] = *h.keyword_score;
  if (h.vector_rank) out["vector_rank"] = *h.vector_rank;
  if (h.keyword_rank) out["keyword_rank"] = *h.keyword_rank;
  out["metadata"] = metadata_value(h.metadata_json);
  return out;
}

kb::CollectionRequest parse_collection_request(const json& body) {
  reject_unknown_fields(body,
                        {"name", "dimensions", "vector_type", "chunk_tokens", "chunk_overlap", "prepend_title",
                         "query_instruction"},
                        "the collection");
  kb::CollectionRequest r;
  const std::optional<std::string> name = opt_string(body, "name");
  if (!name || name->empty()) throw ApiError(Failure::kInvalidInput, "name is required (1 to 128 bytes)", "name");
  if (name->size() > 128) throw ApiError(Failure::kInvalidInput, "name is longer than 128 bytes", "name");
  r.name = *name;
  r.dimensions = int_in_range(body, "dimensions", 0, 0, 1 << 20);
  if (const std::optional<std::string> t = opt_string(body, "vector_type")) {
    const std::optional<kb::VectorType> type = kb::parse_vector_type(*t);
    if (!type) {
      throw ApiError(Failure::kInvalidInput, "vector_type must be \"f32\", \"f16\" or \"int8\", got \"" + t->substr(0, 64) + "\"",
                     "vector_type");
    }
    r.vector_type = *type;
  }
  r.chunk_tokens = int_in_range(body, "chunk_tokens", r.chunk_tokens, 4, 1 << 20);
  r.overlap_tokens = int_in_range(body, "chunk_overlap", r.overlap_tokens, 0, 1 << 20);
  if (r.overlap_tokens >= r.chunk_tokens) {
    throw ApiError(Failure::kInvalidInput,
                   "chunk_overlap (" + std::to_string(r.overlap_tokens) + ") must be less than chunk_tokens (" +
                       std::to_string(r.chunk_tokens) + ")",
                   "chunk_overlap");
  }
  r.prepend_title = opt_bool(body, "prepend_title").value_or(r.prepend_title);
  r.query_instruction = opt_string(body, "query_instruction").value_or("");
  return r;
}

kb::SearchRequest parse_search_request(const json& body) {
  reject_unknown_fields(body, {"query", "mode", "top_k", "vector_weight", "keyword_weight", "filter", "exact"},
                        "the search");
  kb::SearchRequest r;
  const std::optional<std::string> query = opt_string(body, "query");
  if (!query || query->empty()) throw ApiError(Failure::kInvalidInput, "query is required (a non-empty string)", "query");
  r.query = *query;
  if (const std::optional<std::string> mode = opt_string(body, "mode")) {
    const std::optional<kb::SearchMode> m = kb::parse_search_mode(*mode);
    if (!m) {
      throw ApiError(Failure::kInvalidInput,
                     "mode must be \"hybrid\", \"vector\" or \"keyword\", got \"" + mode->substr(0, 64) + "\"", "mode");
    }
    r.mode = *m;
  }
  r.top_k = int_in_range(body, "top_k", r.top_k, 1, 1000);
  for (auto [field, target] : {std::pair{"vector_weight", &r.vector_weight}, {"keyword_weight", &r.keyword_weight}}) {
    if (const std::optional<double> w = opt_number(body, field)) {
      if (*w < 0) throw ApiError(Failure::kInvalidInput, std::string(field) + " must be at least 0", field);
      *target = *w;
    }
  }
  if (r.mode == kb::SearchMode::kHybrid && r.vector_weight == 0 && r.keyword_weight == 0) {
    throw ApiError(Failure::kInvalidInput, "vector_weight and keyword_weight cannot both be 0", "vector_weight");
  }
  if (auto it = body.find("filter"); it != body.end() && !it->is_null()) r.filter = parse_filter(*it);
  r.exact = opt_bool(body, "exact").value_or(false);
  return r;
}

}  // namespace qembed::server::api
