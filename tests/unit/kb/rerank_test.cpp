// The rerank stage of knowledge-base search with a real (generated, tiny) Qwen3-Reranker: hits come in the
// reranker's order with its exact scores beside the retrieval scores, retrieval_rank is the place before reranking,
// the answer is cut to top_k, a collection's default is honoured and overridden, and asking without a reranker is
// the documented error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <unistd.h>

#include "../support/generated_models.hpp"
#include "common/error.hpp"
#include "kb/knowledge_base.hpp"
#include "kb/rerank_stage.hpp"
#include "service/embedding_service.hpp"

namespace qembed::kb {
namespace {

IngestItem text_item(std::string name, std::string text) {
  IngestItem item;
  item.name = std::move(name);
  item.bytes = std::move(text);
  return item;
}

namespace fs = std::filesystem;

service::ServiceOptions small_options() {
  service::ServiceOptions options;
  options.backend.n_threads = 2;
  options.max_batch_tokens = 2048;
  return options;
}

std::unique_ptr<service::EmbeddingService> open_embedder() {
  return service::EmbeddingService::load(
      testing::generated_model("kb-tiny-F32.gguf", "--shape tiny --format gguf --type F32 --seed 7"), small_options());
}

std::unique_ptr<service::EmbeddingService> open_reranker() {
  service::ServiceOptions options = small_options();
  options.reranker = true;
  return service::EmbeddingService::load(
      testing::generated_model("rr-tiny-F32.gguf", "--shape tiny --format gguf --type F32 --reranker --seed 5"),
      options);
}

struct TempDb {
  fs::path dir = fs::temp_directory_path() / ("qembed-kb-rerank-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  TempDb() { fs::create_directories(dir); }
  ~TempDb() { fs::remove_all(dir); }
  std::string path() const { return (dir / "kb.db").string(); }
};

const char* const kDocuments[][2] = {
    {"contract.md",
     "# Supply contract\n\n## Liability\n\nThe supplier is liable for any breach of contract, capped at the annual "
     "fee.\n\n## Payment\n\nInvoices are payable within thirty days of delivery.\n"},
    {"delivery.txt", "Delivery happens on Mondays. A late delivery of the contract goods gives a discount."},
    {"warranty.md", "# Warranty\n\nThe goods carry a warranty of two years against defects in material."},
    {"breach.txt", "A breach of the contract by either party allows the other to end it with notice in writing."},
    {"fees.txt", "The annual fee is due in January; the fee rises with inflation each year of the contract."},
    {"notes.txt", "Meeting notes: the supplier asked about liability caps and payment terms for the contract."},
};

//! A knowledge base with an embedder and (when `with_reranker`) a reranker, and a collection of a few documents
//! cut into small chunks, so there are more candidates than hits.
struct Fixture {
  TempDb tmp;
  std::unique_ptr<service::EmbeddingService> embedder = open_embedder();
  std::unique_ptr<service::EmbeddingService> reranker = open_reranker();
  std::unique_ptr<KnowledgeBase> base = open_knowledge_base(tmp.path(), embedder.get(), {}, reranker.get());

  Collection create(const std::string& name, bool rerank) {
    CollectionRequest request;
    request.name = name;
    request.chunk_tokens = 16;
    request.overlap_tokens = 2;
    request.rerank = rerank;
    const Collection c = base->create_collection(request);
    std::vector<IngestItem> items;
    for (const auto& [file, text] : kDocuments) items.push_back(text_item(file, text));
    base->ingestion().wait(base->ingestion().submit(c, std::move(items), [](const IngestOutcome& o) {
      EXPECT_EQ(o.status, IngestStatus::kIndexed) << o.name << ": " << o.error;
    }));
    return c;
  }
};

SearchRequest query(std::optional<bool> rerank, int32_t top_k, int32_t candidates = 50) {
  SearchRequest r;
  r.query = "who is liable for a breach of the contract?";
  r.top_k = top_k;
  r.rerank = rerank;
  r.rerank_candidates = candidates;
  return r;
}

TEST(KbRerank, HitsComeInTheRerankersOrderWithItsExactScoresBesideTheRetrievalScores) {
  Fixture f;
  const Collection c = f.create("docs", false);
  const SearchResults retrieved = f.base->search(c, query(false, 8));
  ASSERT_EQ(retrieved.hits.size(), 8u) << "the collection has enough chunks for 8 candidates";
  EXPECT_FALSE(retrieved.reranked);
  for (const SearchHit& h : retrieved.hits) {
    EXPECT_FALSE(h.rerank_score.has_value());
    EXPECT_FALSE(h.retrieval_rank.has_value());
  }

  // Each candidate scored alone: what the reranker says about that chunk text and this query.
  const std::string q = query(false, 8).query;
  std::vector<std::pair<double, int64_t>> alone;  // (logit, chunk) over the 8 candidates
  std::map<int64_t, double> alone_score;
  for (const SearchHit& h : retrieved.hits) {
    const service::RankScore s = f.reranker->rerank(q, {h.text}, {}).scores.at(0);
    alone.emplace_back(s.logit, h.chunk_id);
    alone_score[h.chunk_id] = s.score;
  }
  std::stable_sort(alone.begin(), alone.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

  const int64_t interactive_before = f.reranker->stats().interactive_requests_total.load();
  const SearchResults reranked = f.base->search(c, query(true, 3, 8));
  EXPECT_EQ(f.reranker->stats().interactive_requests_total.load(), interactive_before + 1)
      << "one rerank request for all candidates, at interactive priority";
  EXPECT_TRUE(reranked.reranked);
  EXPECT_GT(reranked.rerank_tokens, 0);
  EXPECT_GE(reranked.rerank_ms, 0);
  ASSERT_EQ(reranked.hits.size(), 3u) << "cut to top_k";
  for (size_t i = 0; i < reranked.hits.size(); ++i) {
    const SearchHit& h = reranked.hits[i];
    EXPECT_EQ(h.rank, static_cast<int32_t>(i + 1));
    ASSERT_TRUE(h.rerank_score.has_value());
    ASSERT_TRUE(h.retrieval_rank.has_value());
    // The best three of the eight, by the reranker alone, with the very score it gives the chunk alone.
    EXPECT_EQ(h.chunk_id, alone[i].second) << "place " << i + 1;
    EXPECT_EQ(*h.rerank_score, alone_score[h.chunk_id]) << "place " << i + 1;
    if (i > 0) {
      EXPECT_LE(*h.rerank_score, *reranked.hits[i - 1].rerank_score);
    }
    // score and retrieval_rank are the hit's retrieval score and place.
    const SearchHit& before = retrieved.hits.at(static_cast<size_t>(*h.retrieval_rank - 1));
    EXPECT_EQ(before.chunk_id, h.chunk_id);
    EXPECT_DOUBLE_EQ(h.score, before.score);
    EXPECT_EQ(h.vector_rank, before.vector_rank);
    EXPECT_EQ(h.keyword_rank, before.keyword_rank);
  }

  // top_k above rerank_candidates: as many candidates as hits are asked for, each reranked.
  const SearchResults wide = f.base->search(c, query(true, 6, 2));
  ASSERT_EQ(wide.hits.size(), 6u);
  for (const SearchHit& h : wide.hits) EXPECT_TRUE(h.rerank_score.has_value());

  // Keyword mode reranks too (it needs no embedding of the query).
  SearchRequest keyword = query(true, 2, 8);
  keyword.mode = SearchMode::kKeyword;
  const SearchResults kw = f.base->search(c, keyword);
  ASSERT_FALSE(kw.hits.empty());
  EXPECT_TRUE(kw.hits[0].rerank_score.has_value());
}

TEST(KbRerank, TheCollectionsDefaultIsHonouredAndARequestOverridesIt) {
  Fixture f;
  const Collection plain = f.create("plain", false);
  const Collection reranking = f.create("reranking", true);
  EXPECT_TRUE(reranking.settings.rerank);
  EXPECT_TRUE(f.base->collection("reranking").settings.rerank) << "stored";
  EXPECT_FALSE(f.base->collection("plain").settings.rerank);

  EXPECT_TRUE(f.base->search(reranking, query(std::nullopt, 3)).reranked);
  const SearchResults off = f.base->search(reranking, query(false, 3));
  EXPECT_FALSE(off.reranked);
  for (const SearchHit& h : off.hits) EXPECT_FALSE(h.rerank_score.has_value());
  EXPECT_FALSE(f.base->search(plain, query(std::nullopt, 3)).reranked);
  EXPECT_TRUE(f.base->search(plain, query(true, 3)).reranked);
}

TEST(KbRerank, AskingWithoutARerankerIsAClearError) {
  TempDb tmp;
  auto embedder = open_embedder();
  auto base = open_knowledge_base(tmp.path(), embedder.get());
  EXPECT_FALSE(base->has_reranker());
  CollectionRequest request;
  request.name = "reranking";
  request.rerank = true;
  const Collection c = base->create_collection(request);
  base->ingestion().wait(base->ingestion().submit(c, {text_item("a.txt", kDocuments[3][1])}, {}));
  for (std::optional<bool> rerank : {std::optional<bool>(true), std::optional<bool>()}) {
    try {
      base->search(c, query(rerank, 3));
      ADD_FAILURE() << "a search that reranks ran without a reranker";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_STREQ(e.what(), "reranking needs a reranker model: start with --reranker-model");
    }
  }
  EXPECT_EQ(base->search(c, query(false, 3)).hits.size(), 1u) << "rerank: false overrides the default";
  // An out-of-range rerank_candidates is refused like top_k.
  EXPECT_THROW(base->search(c, query(false, 3, 0)), Error);
  EXPECT_THROW(base->search(c, query(false, 3, 1001)), Error);
}

}  // namespace
}  // namespace qembed::kb
