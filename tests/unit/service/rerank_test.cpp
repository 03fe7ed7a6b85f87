// Reranking through the service on a tiny synthetic Qwen3-Reranker: the model card's prompt, the rank head
// (two rows of the LM head on the output-normed last hidden state), truncation of the document's end only, the
// shared query prefix, and the role checks that keep an embedding model and a reranker apart.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "backend/backend_factory.hpp"
#include "common/error.hpp"
#include "model/model.hpp"
#include "service/embedding_service.hpp"
#include "../support/generated_models.hpp"

namespace qembed::service {
namespace {

std::string reranker_gguf() {
  return testing::generated_model("rerank-tiny-F32.gguf", "--shape tiny --format gguf --type F32 --reranker --seed 5");
}
std::string reranker_hf() {
  return testing::generated_model("rerank-tiny-F32-hf", "--shape tiny --format hf --type F32 --reranker --seed 5");
}
std::string embedder_gguf() {
  return testing::generated_model("rerank-embedder-F32.gguf", "--shape tiny --format gguf --type F32 --seed 5");
}

ServiceOptions reranker_options() {
  ServiceOptions o;
  o.reranker = true;
  o.backend.n_threads = 2;
  o.max_batch_tokens = 4096;
  return o;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

const std::vector<std::string> kDocs = {"The capital of China is Beijing.", "重力是一种吸引力。",
                                        "def add(a, b):\n    return a + b\n"};

TEST(RerankRules, PromptIsTheModelCards) {
  const RerankPrompt p = rerank_prompt("Find code", "how to add", "def add(a, b)");
  EXPECT_EQ(p.prefix,
            "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
            "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n");
  EXPECT_EQ(p.pair, "<Instruct>: Find code\n<Query>: how to add\n<Document>: def add(a, b)");
  EXPECT_EQ(p.suffix, "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(RerankRules, ScoreIsSigmoidOfTheLogitDifference) {
  const float logits[2] = {2.5f, 0.5f};
  const RankScore s = rank_score(logits, 0);
  EXPECT_DOUBLE_EQ(s.logit, 2.0);
  EXPECT_DOUBLE_EQ(s.score, 1.0 / (1.0 + std::exp(-2.0)));
  const float bad[2] = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  try {
    rank_score(bad, 7);
    ADD_FAILURE() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("document 7"), std::string::npos) << e.what();
  }
}

TEST(RerankRules, CommonPrefixLeavesTheLastTokenOfTheShortest) {
  EXPECT_EQ(common_prefix({{1, 2, 3, 4}, {1, 2, 3, 9, 9}}), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(common_prefix({{1, 2, 3}, {1, 2, 3, 4}}), (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(common_prefix({}).empty());
}

TEST(RerankModel, RoleMustMatchHowTheModelIsLoaded) {
  EXPECT_NE(error_of([] { Model::load(reranker_gguf(), ModelRole::kEmbedding); }).find("is a reranker"),
            std::string::npos);
  EXPECT_NE(error_of([] { Model::load(embedder_gguf(), ModelRole::kReranker); }).find("not a reranker"),
            std::string::npos);
  auto m = Model::load(reranker_gguf(), ModelRole::kReranker);
  EXPECT_EQ(m->role, ModelRole::kReranker);
  EXPECT_FALSE(m->append_eos);
  ASSERT_EQ(static_cast<int64_t>(m->rank_head.yes.size()), m->config.n_embd);
  // The GGUF's cls.output rows are the HF head's rows of "yes" and "no" (the same seed writes both).
  auto h = Model::load(reranker_hf(), ModelRole::kReranker);
  EXPECT_EQ(h->rank_head.yes, m->rank_head.yes);
  EXPECT_EQ(h->rank_head.no, m->rank_head.no);
  EXPECT_GE(h->rank_head.yes_id, 0);
}

TEST(RerankModel, HfFolderWithoutAHeadIsRefused) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(QEMBED_BINARY_DIR) / "test-models" / "rerank-no-head-hf";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(reranker_hf())) {
    if (e.path().filename() != "config.json") fs::create_symlink(e.path(), dir / e.path().filename());
  }
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fs::path(reranker_hf()) / "config.json"));
  cfg["tie_word_embeddings"] = false;
  std::ofstream(dir / "config.json") << cfg.dump();
  EXPECT_NE(error_of([&] { Model::load(dir.string(), ModelRole::kReranker); }).find("lm_head.weight"),
            std::string::npos);
}

TEST(RerankHead, LogitsAreTheHeadRowsOnThePooledState) {
  auto model = Model::load(reranker_gguf(), ModelRole::kReranker);
  auto backend = make_backend(*model, BackendOptions{"cpu", 2, 512});
  const std::vector<int32_t> ids = model->tokenizer->encode("<|im_start|>user\nhello there<|im_end|>");
  std::vector<std::span<const int32_t>> seqs = {ids};
  const std::vector<float> pooled = backend->run(PackedBatch::pack(seqs, {}), OutputHead::kLastTokenPooled);
  const std::vector<float> logits = backend->run(PackedBatch::pack(seqs, {}), OutputHead::kRankLogits);
  ASSERT_EQ(logits.size(), 2u);
  double yes = 0, no = 0;
  for (size_t i = 0; i < pooled.size(); ++i) {
    yes += static_cast<double>(pooled[i]) * model->rank_head.yes[i];
    no += static_cast<double>(pooled[i]) * model->rank_head.no[i];
  }
  EXPECT_FLOAT_EQ(logits[0], static_cast<float>(yes));
  EXPECT_FLOAT_EQ(logits[1], static_cast<float>(no));
}

TEST(RerankService, EncodesPromptQueryAndDocumentSharingThePrefix) {
  auto svc = EmbeddingService::load(reranker_gguf(), reranker_options());
  EXPECT_EQ(svc->model_info().role, "reranker");
  RerankRequest req = svc->encode_rerank("What is the capital of China?", kDocs, RerankParams{});
  ASSERT_EQ(req.encoded.seqs.size(), kDocs.size());
  EXPECT_EQ(req.truncated, std::vector<bool>(kDocs.size(), false));
  // Everything up to the document is shared: system turn, instruction and query (~60 tokens).
  EXPECT_GT(req.encoded.prompt_ids.size(), 50u);
  for (const auto& s : req.encoded.seqs) {
    EXPECT_TRUE(std::equal(req.encoded.prompt_ids.begin(), req.encoded.prompt_ids.end(), s.begin()));
  }
  // No EOS: the prompt ends with the assistant turn's opening.
  EXPECT_NE(req.encoded.seqs[0].back(), svc->model_info().eos_id);
}

TEST(RerankService, ScoresDoNotDependOnBatchOrPrefixReuse) {
  auto svc = EmbeddingService::load(reranker_gguf(), reranker_options());
  const RerankResult all = svc->rerank("capital of China", kDocs, RerankParams{});
  ServiceOptions o = reranker_options();
  o.prefix_cache_bytes = 0;
  auto uncached = EmbeddingService::load(reranker_gguf(), o);
  for (size_t i = 0; i < kDocs.size(); ++i) {
    EXPECT_EQ(svc->rerank("capital of China", {kDocs[i]}, RerankParams{}).scores[0].score, all.scores[i].score);
    EXPECT_EQ(uncached->rerank("capital of China", {kDocs[i]}, RerankParams{}).scores[0].score, all.scores[i].score);
  }
  EXPECT_GT(svc->stats().prefix_inputs_reused_total.load(), 0);
}

TEST(RerankService, TruncatesTheDocumentsEndNeverTheQuery) {
  auto svc = EmbeddingService::load(reranker_gguf(), reranker_options());
  std::string long_doc;
  for (int i = 0; i < 200; ++i) long_doc += "word" + std::to_string(i) + " ";
  RerankParams p;
  p.max_tokens = 100;
  const RerankRequest req = svc->encode_rerank("the query", {long_doc, "short"}, p);
  EXPECT_EQ(req.truncated, (std::vector<bool>{true, false}));
  EXPECT_EQ(req.encoded.seqs[0].size(), 100u);
  // The suffix (assistant opening) is intact at the end of both.
  EXPECT_TRUE(std::equal(req.encoded.seqs[0].end() - 8, req.encoded.seqs[0].end(), req.encoded.seqs[1].end() - 8));
  p.truncate = false;
  p.truncate_hint = "\"truncate\": true";
  EXPECT_NE(error_of([&] { svc->encode_rerank("the query", {long_doc}, p); })
                .find("document 0 has "),
            std::string::npos);
  p.max_tokens = 40;
  p.truncate = true;
  EXPECT_NE(error_of([&] { svc->encode_rerank("the query", {"x"}, p); }).find("leaves no room for a document"),
            std::string::npos);
}

TEST(RerankService, ClearErrorsForBadRequestsAndWrongRoles) {
  auto svc = EmbeddingService::load(reranker_gguf(), reranker_options());
  EXPECT_NE(error_of([&] { svc->encode_rerank("", kDocs, {}); }).find("the query is empty"), std::string::npos);
  EXPECT_NE(error_of([&] { svc->encode_rerank("q", {}, {}); }).find("no documents"), std::string::npos);
  EXPECT_NE(error_of([&] { svc->encode_rerank("q", {"a", ""}, {}); }).find("document 1 is an empty string"),
            std::string::npos);
  RerankParams empty_instruction;
  empty_instruction.instruction = "";
  EXPECT_NE(error_of([&] { svc->encode_rerank("q", {"a"}, empty_instruction); }).find("instruction is empty"),
            std::string::npos);
  EmbedInputs in;
  in.texts = {"x"};
  EXPECT_NE(error_of([&] { svc->encode(in, {}); }).find("is a reranker"), std::string::npos);
  ServiceOptions eo;
  eo.backend.n_threads = 2;
  auto embedder = EmbeddingService::load(embedder_gguf(), eo);
  EXPECT_NE(error_of([&] { embedder->encode_rerank("q", {"a"}, {}); }).find("not a reranker"), std::string::npos);
}

}  // namespace
}  // namespace qembed::service
