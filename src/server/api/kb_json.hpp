#pragma once
// The REST API's additions to the knowledge base's JSON shapes (kb/kb_json.hpp, shared with the CLI): what only a
// server knows (document counts, whether the index is open, whether a collection fits the loaded model, a job's
// collection name and progress), and the create-collection and search requests read from JSON. Request errors are
// ApiErrors naming the field.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kb/kb_json.hpp"
#include "kb/knowledge_base.hpp"

namespace qembed::server::api {

//! kb::collection_json plus "id", "model_matches", "documents" {pending, indexed, failed} and "chunks" (null until
//! its vector index is open).
nlohmann::json collection_api_json(const kb::Collection& c, const kb::DocumentCounts& counts,
                                   std::optional<int64_t> chunks, bool model_matches);
//! kb::job_json plus "collection" (its name) and "progress" (finished / total).
nlohmann::json job_api_json(const kb::JobProgress& job, const std::string& collection_name, bool with_documents);

//! POST /v1/kb/collections: {name, dimensions?, vector_type?, chunk_tokens?, chunk_overlap?, prepend_title?,
//! query_instruction?, rerank?}.
//! {"dimensions"?}: the dimensions a reindex stores (0: keep them). ApiError for anything else.
int32_t parse_reindex_request(const nlohmann::json& body);
kb::CollectionRequest parse_collection_request(const nlohmann::json& body);
//! POST .../search: {query, mode?, top_k?, vector_weight?, keyword_weight?, filter?: {document_ids?, formats?,
//! metadata?: {key: scalar}}, exact?, rerank? (absent: the collection's default), rerank_candidates?}.
kb::SearchRequest parse_search_request(const nlohmann::json& body);
//! A label request {query, document, start?, end?, relevant} (its collection_id left 0 for the caller to set).
kb::RelevanceLabel parse_label_request(const nlohmann::json& body);

}  // namespace qembed::server::api
