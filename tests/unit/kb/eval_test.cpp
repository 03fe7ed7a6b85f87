// `kb eval`'s pure parts: the metrics against hand-computed values (trec_eval's definitions), the BEIR readers'
// acceptance and error messages, and the turn from chunk hits into a ranking of documents.
#include "kb/eval.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "kb/beir.hpp"
#include "kb/retrieval_metrics.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using Ids = std::vector<std::string>;
using testing::TempDir;

// log2(3): the discount of rank 2 is 1 / log2(3).
constexpr double kLog2Of3 = 1.584962500721156;

// --- metrics

TEST(RetrievalMetrics, BinaryRelevanceByHand) {
  const Judgements judged = {{"a", 1}, {"b", 1}, {"c", 1}};
  const Ids ranking = {"a", "x", "b", "y"};
  // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG (three relevant) = 1 + 1/log2(3) + 1/2.
  EXPECT_NEAR(ndcg_at(ranking, judged, 10), 1.5 / (1 + 1 / kLog2Of3 + 0.5), 1e-12);
  EXPECT_NEAR(ndcg_at(ranking, judged, 10), 0.7039180890341347, 1e-12);
  EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 10), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 2), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at(ranking, judged, 10), 1.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at({"x", "y", "b"}, judged, 10), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at({"x", "y", "b"}, judged, 2), 0.0);
}

TEST(RetrievalMetrics, GradedRelevanceUsesTheGradeAsGain) {
  // d (grade 3) is missed; c is judged not relevant (0).
  const Judgements judged = {{"a", 2}, {"b", 1}, {"c", 0}, {"d", 3}};
  const Ids ranking = {"b", "a", "c"};
  // Linear gain (trec_eval): DCG = 1 + 2/log2(3); IDCG = 3 + 2/log2(3) + 1/log2(4).
  const double expected = (1 + 2 / kLog2Of3) / (3 + 2 / kLog2Of3 + 0.5);
  EXPECT_NEAR(ndcg_at(ranking, judged, 10), expected, 1e-12);
  EXPECT_NEAR(ndcg_at(ranking, judged, 10), 0.4749950106150897, 1e-12);
  // With the exponential gain 2^grade - 1 it would be 0.30798: the definitions really differ on this input.
  EXPECT_GT(std::abs(ndcg_at(ranking, judged, 10) - 0.3079797896471021), 0.1);
  EXPECT_EQ(count_relevant(judged), 3u);
  EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 10), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at(ranking, judged, 10), 1.0);  // b's grade 1 is relevant
}

TEST(RetrievalMetrics, NegativeAndZeroGradesAreNotRelevant) {
  const Judgements judged = {{"a", -1}, {"z", 0}, {"b", 1}};
  EXPECT_EQ(count_relevant(judged), 1u);
  EXPECT_NEAR(ndcg_at({"a", "b"}, judged, 10), 1 / kLog2Of3, 1e-12);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at({"a", "z", "b"}, judged, 10), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(recall_at({"a", "z"}, judged, 10), 0.0);
}

TEST(RetrievalMetrics, QueryWithoutRelevantDocumentScoresZero) {
  const Judgements judged = {{"a", 0}, {"b", -2}};
  const RetrievalMetrics m = query_metrics({"a", "b"}, judged);
  EXPECT_EQ(m.ndcg_at_10, 0);
  EXPECT_EQ(m.recall_at_10, 0);
  EXPECT_EQ(m.recall_at_100, 0);
  EXPECT_EQ(m.mrr_at_10, 0);
}

TEST(RetrievalMetrics, FewerHitsThanTheCutoffAndAnEmptyRanking) {
  const Judgements judged = {{"a", 1}};
  const RetrievalMetrics one = query_metrics({"x", "a"}, judged);  // 2 hits, far fewer than 10 or 100
  EXPECT_NEAR(one.ndcg_at_10, 1 / kLog2Of3, 1e-12);
  EXPECT_EQ(one.recall_at_10, 1);
  EXPECT_EQ(one.recall_at_100, 1);
  EXPECT_EQ(one.mrr_at_10, 0.5);
  const RetrievalMetrics none = query_metrics({}, judged);
  EXPECT_EQ(none.ndcg_at_10, 0);
  EXPECT_EQ(none.recall_at_100, 0);
  EXPECT_EQ(none.mrr_at_10, 0);
}

TEST(RetrievalMetrics, CutoffsAtTenAndAHundred) {
  // Twelve relevant documents, ranked 1..12: the ideal list is cut at 10 too, so nDCG@10 is 1 while recall@10 is not.
  Judgements judged;
  Ids ranking;
  for (char c = 'a'; c < 'a' + 12; ++c) {
    judged[std::string(1, c)] = 1;
    ranking.push_back(std::string(1, c));
  }
  RetrievalMetrics m = query_metrics(ranking, judged);
  EXPECT_NEAR(m.ndcg_at_10, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.recall_at_10, 10.0 / 12.0);
  EXPECT_DOUBLE_EQ(m.recall_at_100, 1.0);
  // One relevant document at rank 11: invisible at 10, found at 100.
  Ids late = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "relevant"};
  m = query_metrics(late, {{"relevant", 1}});
  EXPECT_EQ(m.ndcg_at_10, 0);
  EXPECT_EQ(m.recall_at_10, 0);
  EXPECT_EQ(m.mrr_at_10, 0);
  EXPECT_EQ(m.recall_at_100, 1);
}

TEST(RetrievalMetrics, TiesAreOrderedByIdDescendingLikeTrecEval) {
  const std::vector<ScoredDocument> run = {{"a", 1.0}, {"c", 2.0}, {"b", 1.0}, {"d", 1.0}, {"e", 0.5}};
  EXPECT_EQ(rank_like_trec_eval(run), (Ids{"c", "d", "b", "a", "e"}));
  // Byte-wise, as strcmp: 'a' (0x61) after 'B' (0x42), and a UTF-8 lead byte (0xC3) after every ASCII byte.
  EXPECT_EQ(rank_like_trec_eval({{"B", 1}, {"a", 1}, {"\xC3\xA9", 1}}), (Ids{"\xC3\xA9", "a", "B"}));
  // The tie decides the metric: the relevant "a" tied with "b" comes second.
  const Judgements judged = {{"a", 1}};
  EXPECT_DOUBLE_EQ(reciprocal_rank_at(rank_like_trec_eval({{"a", 0.7}, {"b", 0.7}}), judged, 10), 0.5);
}

TEST(RetrievalMetrics, MeanOverAddedQueries) {
  MetricsMean mean;
  EXPECT_EQ(mean.queries(), 0);
  EXPECT_EQ(mean.mean().ndcg_at_10, 0);
  mean.add({1.0, 1.0, 1.0, 1.0});
  mean.add({0.5, 0.0, 0.25, 0.5});
  EXPECT_EQ(mean.queries(), 2);
  const RetrievalMetrics m = mean.mean();
  EXPECT_DOUBLE_EQ(m.ndcg_at_10, 0.75);
  EXPECT_DOUBLE_EQ(m.recall_at_10, 0.5);
  EXPECT_DOUBLE_EQ(m.recall_at_100, 0.625);
  EXPECT_DOUBLE_EQ(m.mrr_at_10, 0.75);
}

// --- hits to documents

SearchHit hit(int64_t document_id, const std::string& name, double score) {
  SearchHit h;
  h.document_id = document_id;
  h.document = name;
  h.score = score;
  return h;
}

TEST(EvalDocuments, SeveralChunksOfADocumentCountOnceAtTheirBestRank) {
  const std::vector<SearchHit> hits = {hit(1, "A", 0.9), hit(2, "B", 0.8), hit(1, "A", 0.7), hit(3, "C", 0.6)};
  const std::vector<ScoredDocument> docs = documents_of_hits(hits, SharedContents{});
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, "A");
  EXPECT_EQ(docs[0].score, 0.9);
  EXPECT_EQ(docs[1].id, "B");
  EXPECT_EQ(docs[2].id, "C");
  EXPECT_EQ(rank_like_trec_eval(docs), (Ids{"A", "B", "C"}));
}

TEST(EvalDocuments, DocumentsSharingAContentAreRetrievedTogether) {
  SharedContents shared;
  shared.add_group({3, 4}, {"C", "D"});
  // The store names one of the two (C); D has the same text, so it is retrieved with the same score.
  const std::vector<SearchHit> hits = {hit(1, "A", 0.9), hit(3, "C", 0.6), hit(4, "D", 0.5)};
  const std::vector<ScoredDocument> docs = documents_of_hits(hits, shared);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[2].id, "D");
  EXPECT_EQ(docs[2].score, 0.6);
  EXPECT_EQ(rank_like_trec_eval(docs), (Ids{"A", "D", "C"}));  // the tie, by id descending
  EXPECT_EQ(shared.siblings(1), nullptr);
}

// --- BEIR readers

std::string write_file(const TempDir& dir, const std::string& name, const std::string& content) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

//! The message of the Error `fn` throws (and that it is invalid input); fails the test when nothing is thrown.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(BeirCorpus, ReadsTitlesIdsAndLineEnds) {
  TempDir dir;
  const std::string path = write_file(dir, "corpus.jsonl",
                                      "\xEF\xBB\xBF{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"one\"}\r\n"
                                      "\n"
                                      "{\"_id\": 7, \"title\": null, \"text\": \"seven\", \"extra\": [1]}\n"
                                      "{\"_id\": \"d3\", \"text\": \"\"}");  // no final newline
  BeirCorpusReader reader(path);
  std::optional<BeirDocument> d = reader.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "d1");
  EXPECT_EQ(d->title, "T");
  EXPECT_EQ(d->line, 1);
  EXPECT_EQ(corpus_document_text(*d), "T\n\none");
  d = reader.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "7");
  EXPECT_EQ(d->line, 3);
  EXPECT_EQ(corpus_document_text(*d), "seven");
  d = reader.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "d3");
  EXPECT_FALSE(reader.next());
  const BeirCorpusIds ids = scan_beir_corpus(path);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.at("d3"), 4);
}

TEST(BeirCorpus, ErrorsNameFileAndLine) {
  TempDir dir;
  const std::string ok = "{\"_id\": \"d1\", \"text\": \"one\"}\n";
  struct Case {
    std::string second_line, message;
  };
  const std::vector<Case> cases = {
      {"{\"_id\": \"d2\", \"text\": \"two\"", "corpus.jsonl:2: invalid JSON: "},
      {"[1, 2]", "corpus.jsonl:2: expected a JSON object"},
      {"{\"text\": \"two\"}", "corpus.jsonl:2: missing field \"_id\""},
      {"{\"_id\": \"\", \"text\": \"two\"}", "corpus.jsonl:2: field \"_id\" is empty"},
      {"{\"_id\": [2], \"text\": \"two\"}", "corpus.jsonl:2: field \"_id\" must be a string"},
      {"{\"_id\": \"d2\"}", "corpus.jsonl:2: missing field \"text\""},
      {"{\"_id\": \"d2\", \"text\": 2}", "corpus.jsonl:2: field \"text\" must be a string"},
      {"{\"_id\": \"d2\", \"title\": 1, \"text\": \"x\"}", "corpus.jsonl:2: field \"title\" must be a string"},
      {"{\"_id\": \"d2\", \"text\": \"bad \xC3\x28 byte\"}",
       "corpus.jsonl:2: not valid UTF-8 (invalid byte at offset 27)"},
      {"{\"_id\": \"" + std::string(1025, 'x') + "\", \"text\": \"x\"}", "above the limit of 1024"},
      {"{\"_id\": \"d1\", \"text\": \"again\"}", "corpus.jsonl:2: duplicate _id \"d1\" (first on line 1)"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file(dir, "corpus.jsonl", ok + c.second_line + "\n");
    EXPECT_NE(error_of([&] { scan_beir_corpus(path); }).find(c.message), std::string::npos)
        << "for line: " << c.second_line << "\nexpected: " << c.message;
  }
  EXPECT_NE(error_of([&] { scan_beir_corpus(write_file(dir, "empty.jsonl", "\n\n")); }).find("no documents"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scan_beir_corpus(dir.file("missing.jsonl")); }).find("missing.jsonl: cannot open"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scan_beir_corpus(dir.path()); }).find("is a directory"), std::string::npos);
}

TEST(BeirQueries, ReadsQueriesAndRefusesEmptyOrRepeatedOnes) {
  TempDir dir;
  const std::vector<BeirQuery> queries = read_beir_queries(
      write_file(dir, "q.jsonl", "{\"_id\": \"q1\", \"text\": \"what\"}\n{\"_id\": 2, \"text\": \"why\"}\n"));
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[1].id, "2");
  EXPECT_EQ(queries[1].text, "why");
  EXPECT_EQ(queries[1].line, 2);
  EXPECT_NE(error_of([&] {
              read_beir_queries(write_file(dir, "q.jsonl", "{\"_id\": \"q1\", \"text\": \" \\n \"}\n"));
            }).find("q.jsonl:1: empty query text"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              read_beir_queries(write_file(dir, "q.jsonl",
                                           "{\"_id\": \"q1\", \"text\": \"a\"}\n{\"_id\": \"q1\", \"text\": \"b\"}\n"));
            }).find("q.jsonl:2: duplicate _id \"q1\" (first on line 1)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_beir_queries(write_file(dir, "q.jsonl", "")); }).find("no queries"), std::string::npos);
}

struct QrelsFixture {
  TempDir dir;
  std::function<bool(const std::string&)> is_query = [](const std::string& id) { return id == "q1" || id == "q2"; };
  std::function<bool(const std::string&)> is_document = [](const std::string& id) { return id.rfind("d", 0) == 0; };
  BeirQrels read(const std::string& content) {
    return read_beir_qrels(write_file(dir, "qrels.tsv", content), is_query, is_document);
  }
};

TEST(BeirQrels, HeaderGradesAndUnknownIds) {
  QrelsFixture f;
  const BeirQrels qrels = f.read(
      "query-id\tcorpus-id\tscore\n"
      "q1\td1\t2\r\n"
      "q1\td2\t0\n"
      "q2\td1\t1\n"
      "q9\td1\t1\n"    // unknown query
      "q2\tx5\t1\n");  // unknown document
  EXPECT_EQ(qrels.n_judgements, 3);
  EXPECT_EQ(qrels.by_query.at("q1").at("d1"), 2);
  EXPECT_EQ(qrels.by_query.at("q1").at("d2"), 0);
  EXPECT_EQ(qrels.by_query.at("q2").size(), 1u);
  EXPECT_EQ(qrels.n_skipped_unknown_query, 1);
  EXPECT_EQ(qrels.n_skipped_unknown_document, 1);
  ASSERT_EQ(qrels.warnings.size(), 2u);
  EXPECT_NE(qrels.warnings[0].find("qrels.tsv:5: query-id \"q9\" is not in the queries file"), std::string::npos);
  EXPECT_NE(qrels.warnings[1].find("qrels.tsv:6: corpus-id \"x5\" is not in the corpus"), std::string::npos);
  // Without a header the first line is a judgement.
  EXPECT_EQ(f.read("q1\td1\t1\n").n_judgements, 1);
}

TEST(BeirQrels, ErrorsNameFileAndLine) {
  QrelsFixture f;
  struct Case {
    std::string content, message;
  };
  const std::vector<Case> cases = {
      {"q1\td1\t1\nq1\td2\tyes\n", "qrels.tsv:2: score \"yes\" is not an integer"},
      {"q1\td1\t1\nq1\td2\t1.5\n", "qrels.tsv:2: score \"1.5\" is not an integer"},
      {"q1\td1\t1\nq1\td2\n", "qrels.tsv:2: expected 3 tab-separated fields (query-id, corpus-id, score), found 2"},
      {"q1 0 d1 1\n",
       "qrels.tsv:1: expected 3 tab-separated fields (query-id, corpus-id, score), found 1; this looks "
       "like TREC qrels"},
      {"q1\td1\t1\n\tdx\t1\n", "qrels.tsv:2: empty query-id"},
      {"q1\td1\t1\nq1\td1\t2\n", "qrels.tsv:2: query \"q1\" and document \"d1\" are judged twice (first on line 1)"},
      {"q1\td\xFF\t1\n", "qrels.tsv:1: not valid UTF-8 (invalid byte at offset 4)"},
      {"q9\td1\t1\n", "no judgement names a query and a document of the files given"},
      {"query-id\tcorpus-id\tscore\n\n", "qrels.tsv: no judgements"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(error_of([&] { f.read(c.content); }).find(c.message), std::string::npos)
        << "for: " << c.content << "\nexpected: " << c.message;
  }
}

TEST(EvalData, ChecksTheFilesAgainstEachOtherAndCountsScoredQueries) {
  TempDir dir;
  EvalFiles files{
      write_file(dir, "corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"a\"}\n{\"_id\": \"d2\", \"text\": \"b\"}\n"),
      write_file(dir, "queries.jsonl",
                 "{\"_id\": \"q1\", \"text\": \"a\"}\n{\"_id\": \"q2\", \"text\": \"b\"}\n"
                 "{\"_id\": \"q3\", \"text\": \"c\"}\n"),
      write_file(dir, "qrels.tsv", "q1\td1\t1\nq2\td2\t0\n")};
  const EvalData data = load_eval_data(files);
  const std::vector<const BeirQuery*> scored = scored_queries(data);
  ASSERT_EQ(scored.size(), 1u);  // q2 is judged only 0, q3 not at all
  EXPECT_EQ(scored[0]->id, "q1");
  // Only zeros: nothing to score, an error before any ingestion.
  files.qrels = write_file(dir, "zero.tsv", "q1\td1\t0\n");
  EXPECT_NE(error_of([&] { load_eval_data(files); }).find("no query has a relevant document"), std::string::npos);
  // A missing third file is reported without scanning the others first.
  files.qrels = dir.file("absent.tsv");
  EXPECT_NE(error_of([&] { load_eval_data(files); }).find("absent.tsv: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace qembed::kb
