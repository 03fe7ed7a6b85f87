#pragma once
// Retrieval quality metrics for `qembed kb eval`, as pure functions over one query's ranked document ids and its
// relevance judgements. The definitions follow trec_eval as pytrec_eval runs it (what BEIR reports), so a run
// dumped from qembed and scored there gives the same numbers (docs/kb.md, "Evaluation"):
//   - relevance is graded: a judgement's grade is an integer; grade >= 1 is relevant, 0 and below is not
//     (trec_eval's default relevance_level 1; negative grades are trec_eval's "unjudged in pool");
//   - nDCG@k: DCG = sum over ranks r = 1..k of grade(doc_r) / log2(r + 1), counting only grades > 0 (linear
//     gain, not 2^grade - 1); the ideal DCG sorts every judged grade >= 1 of the query descending; nDCG = DCG / IDCG
//     (trec_eval's ndcg_cut.k);
//   - recall@k: relevant documents in the first k / all relevant documents of the query (trec_eval's recall_k);
//   - MRR@k: 1 / rank of the first relevant document within the first k, else 0 (BEIR's MRR@k).
// The ranking is ordered as trec_eval orders a run: score descending, equal scores by document id descending
// (byte-wise), so the order among tied hits is deterministic and the same as pytrec_eval's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace qembed::kb {

//! One query's judgements: corpus id -> grade (qrels.tsv's score column).
using Judgements = std::unordered_map<std::string, int32_t>;

//! A retrieved document with the score that ranks it (higher is better).
struct ScoredDocument {
  std::string id;
  double score = 0;
};

//! The document ids in trec_eval's order: score descending, ties by id descending (byte-wise). Ids must be
//! distinct (one entry per document: the caller keeps each document's best score).
std::vector<std::string> rank_like_trec_eval(std::vector<ScoredDocument> run);

//! Number of judgements with grade >= 1.
size_t count_relevant(const Judgements& judgements);

//! nDCG at cutoff k (k >= 1) of `ranking` (ids in rank order, best first). 0 when the query has no relevant
//! document (ideal DCG 0), as trec_eval.
double ndcg_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k);
//! Relevant documents among the first k over all relevant documents; 0 when there are none.
double recall_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k);
//! 1 / rank of the first relevant document within the first k, else 0.
double reciprocal_rank_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k);

//! The metrics `kb eval` reports, for one query or averaged over queries.
struct RetrievalMetrics {
  double ndcg_at_10 = 0;
  double recall_at_10 = 0;
  double recall_at_100 = 0;
  double mrr_at_10 = 0;
};

//! The four metrics of one query.
RetrievalMetrics query_metrics(const std::vector<std::string>& ranking, const Judgements& judgements);

//! Running mean of per-query metrics. Only queries with at least one relevant document are added (a query whose
//! judgements are all 0 has no ideal ranking to compare with); the caller counts the others.
class MetricsMean {
 public:
  void add(const RetrievalMetrics& query);
  //! The means; all 0 when no query was added.
  RetrievalMetrics mean() const;
  int64_t queries() const { return n_queries_; }

 private:
  RetrievalMetrics sum_;
  int64_t n_queries_ = 0;
};

}  // namespace qembed::kb
