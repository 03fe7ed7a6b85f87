#include "server/api/kb_json.hpp"

#include <cmath>

#include "server/api/errors.hpp"
#include "server/api/request_parsing.hpp"

namespace qembed::server::api {

using nlohmann::json;

namespace {

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
      throw ApiError(Failure::kInvalidInput,
                     "unknown field \"" + key.substr(0, 64) + "\" in " + where + " (known: " + list + ")",
                     key.substr(0, 64));
    }
  }
}

}  // namespace

json collection_api_json(const kb::Collection& c, const kb::DocumentCounts& counts, std::optional<int64_t> chunks,
                         bool model_matches) {
  json out = kb::collection_json(c);
  out["id"] = c.id;
  out["model_matches"] = model_matches;
  out["documents"] = {{"pending", counts.pending}, {"indexed", counts.indexed}, {"failed", counts.failed}};
  out["chunks"] = chunks ? json(*chunks) : json(nullptr);
  return out;
}

json job_api_json(const kb::JobProgress& job, const std::string& collection_name, bool with_documents) {
  json out = kb::job_json(job, with_documents);
  out["collection"] = collection_name;
  out["progress"] = job.total > 0 ? static_cast<double>(job.finished) / static_cast<double>(job.total) : 1.0;
  return out;
}

int32_t parse_reindex_request(const json& body) {
  reject_unknown_fields(body, {"dimensions"}, "the reindex request");
  return int_in_range(body, "dimensions", 0, 1, 1 << 16);
}

kb::CollectionRequest parse_collection_request(const json& body) {
  reject_unknown_fields(
      body,
      {"name", "dimensions", "vector_type", "chunk_tokens", "chunk_overlap", "prepend_title", "query_instruction",
       "rerank"},
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
      throw ApiError(Failure::kInvalidInput,
                     "vector_type must be \"f32\", \"f16\" or \"int8\", got \"" + t->substr(0, 64) + "\"",
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
  r.rerank = opt_bool(body, "rerank").value_or(false);
  return r;
}

kb::SearchRequest parse_search_request(const json& body) {
  reject_unknown_fields(body,
                        {"query", "mode", "top_k", "vector_weight", "keyword_weight", "filter", "exact", "rerank",
                         "rerank_candidates"},
                        "the search");
  kb::SearchRequest r;
  const std::optional<std::string> query = opt_string(body, "query");
  if (!query || query->empty())
    throw ApiError(Failure::kInvalidInput, "query is required (a non-empty string)", "query");
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
  if (auto it = body.find("filter"); it != body.end() && !it->is_null()) {
    try {
      r.filter = kb::filter_from_json(*it);
    } catch (const Error& e) {
      throw ApiError(Failure::kInvalidInput, e.what(), "filter");
    }
  }
  r.exact = opt_bool(body, "exact").value_or(false);
  r.rerank = opt_bool(body, "rerank");  // absent or null: the collection's default
  r.rerank_candidates = int_in_range(body, "rerank_candidates", r.rerank_candidates, 1, 1000);
  return r;
}

kb::RelevanceLabel parse_label_request(const json& body) {
  reject_unknown_fields(body, {"query", "document", "start", "end", "relevant"}, "the label");
  kb::RelevanceLabel label;
  label.query = opt_string(body, "query").value_or("");
  label.document_name = opt_string(body, "document").value_or("");
  if (label.query.empty()) throw ApiError(Failure::kInvalidInput, "query is required", "query");
  if (label.document_name.empty())
    throw ApiError(Failure::kInvalidInput, "document is required (its name)", "document");
  const std::optional<bool> relevant = opt_bool(body, "relevant");
  if (!relevant) throw ApiError(Failure::kInvalidInput, "relevant is required (true or false)", "relevant");
  label.grade = *relevant ? 1 : 0;
  label.passage_start = int_in_range(body, "start", 0, 0, INT32_MAX);
  label.passage_end = int_in_range(body, "end", 0, 0, INT32_MAX);
  return label;
}

}  // namespace qembed::server::api
