#include "kb/kb_json.hpp"

#include "common/error.hpp"

namespace qembed::kb {

using nlohmann::json;

json collection_json(const Collection& c) {
  const CollectionSettings& s = c.settings;
  return json{{"name", s.name},
              {"model", {{"name", s.model.name}, {"fingerprint", s.model.fingerprint}, {"dimensions", s.model.dimensions}}},
              {"dimensions", s.dimensions},
              {"vector_type", vector_type_name(s.vector_type)},
              {"chunk_tokens", s.chunk_tokens},
              {"chunk_overlap", s.overlap_tokens},
              {"prepend_title", s.prepend_title},
              {"query_instruction", s.query_instruction},
              {"rerank", s.rerank},
              {"created_ms", c.created_ms}};
}

json document_json(const Document& d) {
  json metadata = json::parse(d.metadata_json.empty() ? "{}" : d.metadata_json, nullptr, false);
  if (metadata.is_discarded()) metadata = json::object();
  json out{{"document_id", d.id},
           {"collection_id", d.collection_id},
           {"name", d.name},
           {"sha256", d.sha256},
           {"format", d.format},
           {"size_bytes", d.size_bytes},
           {"pages", d.pages},
           {"status", document_status_name(d.status)},
           {"metadata", std::move(metadata)},
           {"chunks", d.chunk_count},
           {"created_ms", d.created_ms},
           {"updated_ms", d.updated_ms}};
  if (!d.error.empty()) out["error"] = d.error;
  return out;
}

json outcome_json(const IngestOutcome& o) {
  json out{{"file", o.name}, {"document_id", o.document_id}, {"status", ingest_status_name(o.status)},
           {"chunks", o.chunks}};
  if (!o.error.empty()) out["error"] = o.error;
  if (o.unavailable) out["error_status"] = 503;  // as a refused file's 413: this file may be sent again
  if (o.status == IngestStatus::kPending && !o.phase.empty()) {
    out["phase"] = o.phase;
    if (o.phase == "embedding") out["embedded"] = o.embedded;
  }
  return out;
}

json hit_json(const SearchHit& h) {
  json out{{"rank", h.rank}, {"score", h.score}, {"document_id", h.document_id}, {"document", h.document}};
  if (h.page_first > 0) {
    out["page"] = h.page_first;
    if (h.page_last != h.page_first) out["page_last"] = h.page_last;
  }
  if (!h.section.empty()) out["section"] = h.section;
  out["text"] = h.text;
  out["start"] = h.start;
  out["end"] = h.end;
  json highlights = json::array();
  for (const auto& [s, e] : h.highlights) highlights.push_back({s, e});
  out["highlights"] = std::move(highlights);
  out["format"] = h.format;
  json metadata = json::parse(h.metadata_json.empty() ? "{}" : h.metadata_json, nullptr, false);
  out["metadata"] = metadata.is_discarded() ? json::object() : std::move(metadata);
  if (h.vector_score) out["vector_score"] = *h.vector_score;
  if (h.keyword_score) out["keyword_score"] = *h.keyword_score;
  if (h.vector_rank) out["vector_rank"] = *h.vector_rank;
  if (h.keyword_rank) out["keyword_rank"] = *h.keyword_rank;
  if (h.rerank_score) out["rerank_score"] = *h.rerank_score;
  if (h.retrieval_rank) out["retrieval_rank"] = *h.retrieval_rank;
  return out;
}

json job_json(const JobProgress& j, bool with_documents) {
  json out{{"id", j.id},         {"collection_id", j.collection_id},
           {"state", j.state},   {"total", j.total},
           {"finished", j.finished}, {"indexed", j.indexed},
           {"duplicates", j.duplicates}, {"replaced", j.replaced},
           {"failed", j.failed}, {"tokens", j.tokens},
           {"created_ms", j.created_ms}};
  if (j.finished_ms) out["finished_ms"] = j.finished_ms;
  if (with_documents) {
    json docs = json::array();
    for (const IngestOutcome& o : j.outcomes) docs.push_back(outcome_json(o));
    out["documents"] = std::move(docs);
  }
  return out;
}

SearchFilter filter_from_json(const json& f) {
  SearchFilter filter;
  if (f.is_null()) return filter;
  if (!f.is_object()) throw Error("filter must be an object");
  for (const auto& [key, value] : f.items()) {
    if (key == "document_ids") {
      if (!value.is_array()) throw Error("filter.document_ids must be an array of integers");
      for (const json& v : value) {
        if (!v.is_number_integer()) throw Error("filter.document_ids must be an array of integers");
        filter.document_ids.push_back(v.get<int64_t>());
      }
    } else if (key == "formats") {
      if (!value.is_array()) throw Error("filter.formats must be an array of strings");
      for (const json& v : value) {
        if (!v.is_string()) throw Error("filter.formats must be an array of strings");
        filter.formats.push_back(v.get<std::string>());
      }
    } else if (key == "metadata") {
      if (!value.is_object()) throw Error("filter.metadata must be an object of key: value");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_primitive() || mv.is_null()) {
          throw Error("filter.metadata." + mk + " must be a string, number or boolean");
        }
        filter.metadata_equals.emplace_back(mk, mv.dump(-1, ' ', false, json::error_handler_t::replace));
      }
    } else {
      throw Error("unknown filter field \"" + key + "\" (document_ids, formats, metadata)");
    }
  }
  return filter;
}

}  // namespace qembed::kb
