#pragma once
// The rerank stage of a search: retrieval (vector, keyword or hybrid) finds candidates cheaply, then a
// Qwen3-Reranker reads the query and each candidate's chunk text together and scores how well the passage answers
// it. The reranker sees both texts at once, so it judges relevance better than any comparison of separate vectors,
// at the price of running the model over every candidate (about candidates x chunk tokens).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kb/search.hpp"

namespace qembed::service {
class EmbeddingService;
}

namespace qembed::kb {

//! The message of a search that asks for reranking where no reranker was loaded.
inline constexpr const char* kNoRerankerMessage = "reranking needs a reranker model: start with --reranker-model";

//! What the rerank stage cost.
struct RerankStats {
  double ms = 0;
  int64_t tokens = 0;  //!< through the reranker: template, query and chunk, per candidate
};

//! Scores every hit's chunk text against `query` with `reranker` in one request at interactive priority (the
//! service computes the shared query prefix once), then orders the hits by rerank score, best first (equal scores
//! keep their retrieval order), keeps the best `top_k` and numbers them. Each hit keeps its retrieval `score`;
//! `rerank_score` is set and `retrieval_rank` is its `rank` before this call. A chunk too long for the reranker is
//! cut at its end. Throws the service's errors (kLimit when it is busy).
RerankStats rerank_hits(service::EmbeddingService& reranker, const std::string& query, std::vector<SearchHit>& hits,
                        size_t top_k);

}  // namespace qembed::kb
