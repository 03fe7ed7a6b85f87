#include "kb/retrieval_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace qembed::kb {

namespace {

int32_t grade_of(const Judgements& judgements, const std::string& id) {
  const auto it = judgements.find(id);
  return it == judgements.end() ? 0 : it->second;
}

//! Rank r (1-based) is discounted by log2(r + 1): rank 1 counts fully, rank 3 by half.
double discount(size_t rank) { return 1.0 / std::log2(static_cast<double>(rank) + 1.0); }

}  // namespace

std::vector<std::string> rank_like_trec_eval(std::vector<ScoredDocument> run) {
  std::sort(run.begin(), run.end(), [](const ScoredDocument& a, const ScoredDocument& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.id > b.id;  // std::string compares bytes as unsigned char, like strcmp
  });
  std::vector<std::string> ids;
  ids.reserve(run.size());
  for (ScoredDocument& d : run) ids.push_back(std::move(d.id));
  return ids;
}

size_t count_relevant(const Judgements& judgements) {
  return static_cast<size_t>(
      std::count_if(judgements.begin(), judgements.end(), [](const auto& j) { return j.second >= 1; }));
}

double ndcg_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k) {
  double dcg = 0;
  for (size_t i = 0; i < std::min(k, ranking.size()); ++i) {
    const int32_t grade = grade_of(judgements, ranking[i]);
    if (grade > 0) dcg += grade * discount(i + 1);
  }
  std::vector<int32_t> ideal_grades;
  for (const auto& [id, grade] : judgements) {
    if (grade >= 1) ideal_grades.push_back(grade);
  }
  std::sort(ideal_grades.begin(), ideal_grades.end(), std::greater<>());
  double ideal_dcg = 0;
  for (size_t i = 0; i < std::min(k, ideal_grades.size()); ++i) ideal_dcg += ideal_grades[i] * discount(i + 1);
  return ideal_dcg > 0 ? dcg / ideal_dcg : 0;
}

double recall_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k) {
  const size_t n_relevant = count_relevant(judgements);
  if (n_relevant == 0) return 0;
  size_t found = 0;
  for (size_t i = 0; i < std::min(k, ranking.size()); ++i) found += grade_of(judgements, ranking[i]) >= 1;
  return static_cast<double>(found) / static_cast<double>(n_relevant);
}

double reciprocal_rank_at(const std::vector<std::string>& ranking, const Judgements& judgements, size_t k) {
  for (size_t i = 0; i < std::min(k, ranking.size()); ++i) {
    if (grade_of(judgements, ranking[i]) >= 1) return 1.0 / static_cast<double>(i + 1);
  }
  return 0;
}

RetrievalMetrics query_metrics(const std::vector<std::string>& ranking, const Judgements& judgements) {
  return {ndcg_at(ranking, judgements, 10), recall_at(ranking, judgements, 10), recall_at(ranking, judgements, 100),
          reciprocal_rank_at(ranking, judgements, 10)};
}

void MetricsMean::add(const RetrievalMetrics& query) {
  sum_.ndcg_at_10 += query.ndcg_at_10;
  sum_.recall_at_10 += query.recall_at_10;
  sum_.recall_at_100 += query.recall_at_100;
  sum_.mrr_at_10 += query.mrr_at_10;
  ++n_queries_;
}

RetrievalMetrics MetricsMean::mean() const {
  if (n_queries_ == 0) return {};
  const double n = static_cast<double>(n_queries_);
  return {sum_.ndcg_at_10 / n, sum_.recall_at_10 / n, sum_.recall_at_100 / n, sum_.mrr_at_10 / n};
}

}  // namespace qembed::kb
