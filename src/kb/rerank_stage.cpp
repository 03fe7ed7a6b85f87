#include "kb/rerank_stage.hpp"

#include <algorithm>
#include <chrono>

#include "service/embedding_service.hpp"

namespace qembed::kb {

RerankStats rerank_hits(service::EmbeddingService& reranker, const std::string& query, std::vector<SearchHit>& hits,
                        size_t top_k) {
  RerankStats stats;
  if (hits.empty()) return stats;  // the service refuses a request without documents
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> documents;
  documents.reserve(hits.size());
  for (const SearchHit& h : hits) documents.push_back(h.text);
  service::RerankParams params;
  params.truncate = true;  // a chunk longer than the reranker's input limit is still judged on its beginning
  params.truncate_hint = "a shorter query";
  service::RerankRequest request = reranker.encode_rerank(query, documents, params);
  // Someone waits for this search: ahead of ingestion's bulk work, as the query's embedding.
  request.encoded.priority = service::Priority::kInteractive;
  service::EmbedResult computed = reranker.embed(std::move(request.encoded));
  const service::RerankResult result =
      service::EmbeddingService::rerank_result(std::move(computed), std::move(request.truncated));
  // Ordered by the logit, not the probability: sigmoid rounds the best candidates all to 1.0 in double.
  std::vector<size_t> order(hits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return result.scores.at(a).logit > result.scores.at(b).logit; });
  std::vector<SearchHit> ranked;
  ranked.reserve(std::min(top_k, hits.size()));
  for (size_t i : order) {
    if (ranked.size() == top_k) break;
    SearchHit& h = hits[i];
    h.retrieval_rank = h.rank;
    h.rerank_score = result.scores[i].score;
    ranked.push_back(std::move(h));
  }
  hits = std::move(ranked);
  for (size_t i = 0; i < hits.size(); ++i) hits[i].rank = static_cast<int32_t>(i + 1);
  stats.tokens = result.total_tokens;
  stats.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace qembed::kb
