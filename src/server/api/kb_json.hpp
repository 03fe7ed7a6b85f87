#pragma once
// The knowledge base's REST shapes (docs/kb.md, "REST API"): collections, documents, jobs and search hits as JSON,
// and the create-collection and search requests read from JSON. Request errors are ApiErrors naming the field.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kb/knowledge_base.hpp"

namespace qembed::server::api {

//! `counts` and `chunks` when known; `model_matches`: whether it was built with the loaded model.
nlohmann::json collection_json(const kb::Collection& c, const std::optional<kb::DocumentCounts>& counts,
                               std::optional<int64_t> chunks, bool model_matches);
nlohmann::json document_json(const kb::Document& d);
//! An ingestion outcome as the upload response and job reports show it (`file`: the name as uploaded, when known).
nlohmann::json outcome_json(const kb::IngestOutcome& o, const std::string& file = "");
//! A job's progress; its per-document outcomes only `with_documents`.
nlohmann::json job_json(const kb::JobProgress& job, const std::string& collection_name, bool with_documents);
nlohmann::json hit_json(const kb::SearchHit& hit);
//! A stored metadata_json as a JSON value (an object; a string when it is not valid JSON).
nlohmann::json metadata_value(const std::string& metadata_json);

//! POST /v1/kb/collections: {name, dimensions?, vector_type?, chunk_tokens?, chunk_overlap?, prepend_title?,
//! query_instruction?}.
kb::CollectionRequest parse_collection_request(const nlohmann::json& body);
//! POST .../search: {query, mode?, top_k?, vector_weight?, keyword_weight?, filter?: {document_ids?, formats?,
//! metadata?: {key: scalar}}, exact?}.
kb::SearchRequest parse_search_request(const nlohmann::json& body);

}  // namespace qembed::server::api
