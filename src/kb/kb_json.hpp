#pragma once
// The JSON shapes of the knowledge base, written once for every front end: `qembed kb ...` prints them as JSON
// lines and the server's /v1/kb routes answer with them, so a document, a hit or a job looks the same everywhere.
#include <nlohmann/json.hpp>

#include "kb/ingestion.hpp"
#include "kb/search.hpp"
#include "kb/store/store.hpp"

namespace qembed::kb {

//! {"name", "model": {"name","fingerprint","dimensions"}, "dimensions", "vector_type", "chunk_tokens",
//!  "chunk_overlap", "prepend_title", "query_instruction", "created_ms"}
nlohmann::json collection_json(const Collection& collection);
//! {"document_id", "collection_id", "name", "sha256", "format", "size_bytes", "pages", "status", "error"?,
//!  "metadata", "chunks", "created_ms", "updated_ms"}
nlohmann::json document_json(const Document& document);
//! {"file", "document_id", "status", "chunks", "error"?, "phase"?, "embedded"?}: the CLI's `kb add` line and an
//! upload's per-file entry; a pending one says where it is ("queued", "extracting", "chunking", "embedding" with
//! `embedded` of `chunks`, "committing").
nlohmann::json outcome_json(const IngestOutcome& outcome);
//! {"rank", "score", "document_id", "document", "page"?, "page_last"?, "section"?, "text", "start", "end",
//!  "highlights", "format", "metadata", "vector_score"?, "keyword_score"?, "vector_rank"?, "keyword_rank"?}
nlohmann::json hit_json(const SearchHit& hit);
//! {"id", "collection_id", "state", "total", "finished", "indexed", "duplicates", "replaced", "failed", "tokens",
//!  "created_ms", "finished_ms"?, "documents"?: [outcome_json...] when `with_documents`}
nlohmann::json job_json(const JobProgress& job, bool with_documents);

//! A SearchFilter from {"document_ids": [..], "formats": [..], "metadata": {key: scalar}}; Error naming the field
//! for anything else.
SearchFilter filter_from_json(const nlohmann::json& filter);

}  // namespace qembed::kb
