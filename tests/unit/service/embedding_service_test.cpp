// The service end to end on tiny models: what it reports about the model, how inputs become ids, that its vectors
// are the engine's pooled vectors finished once, and that every failure carries the right kind.
#include "service/embedding_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "backend/backend_factory.hpp"
#include "engine/engine.hpp"
#include "formats/gguf_reader.hpp"
#include "model/model.hpp"
#include "service_fixture.hpp"

namespace qembed::service {
namespace {

using testing::cosine;
using testing::make_service;
using testing::small_options;
using testing::texts;
using testing::tiny_ctx64_model;
using testing::tiny_model;
using testing::tokens;

const std::vector<std::string> kTexts = {"What is the capital of China?", "The capital of China is Beijing.",
                                         "Gravity is a force that attracts two bodies towards each other.",
                                         "重力是一种吸引力。", "x"};

//! The Error an expression throws (fails the test when it throws none).
template <typename Fn>
Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return InternalError("none");
}

TEST(EmbeddingService, ModelInfoDescribesTheServedModel) {
  auto svc = make_service(tiny_model());
  const ModelInfo& m = svc->model_info();
  EXPECT_EQ(m.id, "service-tiny-seed7-F32") << "the file name without its extension";
  EXPECT_EQ(m.format, "gguf");
  EXPECT_EQ(m.dtype, "F32");
  EXPECT_EQ(m.architecture, "qwen3");
  EXPECT_EQ(m.n_embd, 256);
  EXPECT_EQ(m.n_ctx, 4096);
  EXPECT_EQ(m.max_input_tokens, 4096);
  EXPECT_EQ(m.n_vocab, 151669);
  EXPECT_EQ(m.fingerprint.size(), 16u);
  EXPECT_EQ(m.eos_id, 151643);
  EXPECT_TRUE(m.appends_eos);
  EXPECT_GT(m.n_params, 151669 * 256);
  EXPECT_EQ(m.backend.name, "cpu");
  EXPECT_EQ(m.backend.numeric_path.rfind("cpu/", 0), 0u) << m.backend.numeric_path;
  EXPECT_EQ(m.backend.n_threads, 2);
  EXPECT_GT(m.memory.weights_bytes, 0);
  EXPECT_GT(m.tensor_types.at("F32"), 0);
  EXPECT_EQ(svc->options().max_queue_tokens, 16 * 256) << "default: 16 batches";

  ServiceOptions named = small_options();
  named.served_name = "my-model";
  named.max_input_tokens = 100;
  auto svc2 = make_service(tiny_model(), named);
  EXPECT_EQ(svc2->model_info().id, "my-model");
  EXPECT_EQ(svc2->model_info().max_input_tokens, 100);
  EXPECT_EQ(svc2->model_info().fingerprint, m.fingerprint);
}

TEST(EmbeddingService, FolderModelIdIsTheFolderName) {
  const std::string dir = testing::generated_model("service-tiny-hf", "--shape tiny --format hf --type F32 --seed 7");
  auto svc = make_service(dir + "/");
  EXPECT_EQ(svc->model_info().id, "service-tiny-hf");
  EXPECT_EQ(svc->model_info().format, "safetensors");
}

TEST(EmbeddingService, BadOptionsAreErrorsNamingTheOption) {
  ServiceOptions o = small_options();
  o.max_input_tokens = 5000;
  EXPECT_NE(std::string(error_of([&] { make_service(tiny_model(), o); }).what()).find("max_input_tokens"),
            std::string::npos);
  o = small_options();
  o.default_prompt_name = "nope";
  const Error e = error_of([&] { make_service(tiny_model(), o); });
  EXPECT_NE(std::string(e.what()).find("default prompt name"), std::string::npos) << e.what();
}

TEST(EmbeddingService, EmbedEqualsEnginePooledVectorsFinalized) {
  auto svc = make_service(tiny_model());
  EmbedParams params;
  params.dimensions = 64;
  const EncodedRequest req = svc->encode(texts(kTexts), params);
  const EmbedResult got = svc->embed(texts(kTexts), params);

  auto model = Model::load(tiny_model());
  BackendOptions bo;
  bo.n_threads = 1;
  Engine engine(make_backend(*model, bo), model->config, EngineOptions{});
  const std::vector<std::vector<float>> pooled = engine.embed(req.seqs);
  ASSERT_EQ(got.vectors.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const std::vector<float> want = finalize_embedding(pooled[i], 64, true, static_cast<int64_t>(i));
    ASSERT_EQ(got.vectors[i].size(), 64u);
    EXPECT_GE(cosine(got.vectors[i], want), 0.99999) << "input " << i;
    EXPECT_EQ(got.n_tokens[i], static_cast<int64_t>(req.seqs[i].size()));
  }
  EXPECT_EQ(got.total_tokens, req.n_tokens);

  EmbedParams raw;
  raw.normalize = false;
  const EmbedResult unnormalized = svc->embed(texts({kTexts[0]}), raw);
  ASSERT_EQ(unnormalized.vectors[0].size(), 256u);
  EXPECT_GE(cosine(unnormalized.vectors[0], pooled[0]), 0.99999);
  EXPECT_NEAR(unnormalized.vectors[0][3], pooled[0][3], 1e-3 * std::abs(pooled[0][3]) + 1e-5);
}

TEST(EmbeddingService, EncodeAppliesPromptEosAndKeepsPromptIdsForTheCache) {
  auto svc = make_service(tiny_model());
  EmbedParams query;
  query.prompt_name = "query";
  const EncodedRequest q = svc->encode(texts({"Explain gravity"}), query);
  const EncodedRequest manual = svc->encode(
      texts({"Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:Explain "
             "gravity"}),
      EmbedParams{});
  EXPECT_EQ(q.seqs, manual.seqs);
  EXPECT_EQ(q.seqs[0].back(), 151643);
  EXPECT_NE(q.seqs[0][q.seqs[0].size() - 2], 151643) << "EOS once";
  ASSERT_GE(q.prompt_ids.size(), 10u);
  EXPECT_TRUE(std::equal(q.prompt_ids.begin(), q.prompt_ids.end() - 1, q.seqs[0].begin()));
  EXPECT_TRUE(manual.prompt_ids.empty());
  EXPECT_EQ(svc->prompt_text(query), format_instruction(kDefaultQueryTask, ""));

  const EncodedRequest t = svc->encode(tokens({{10, 11, 12}}), query);
  EXPECT_TRUE(t.prompt_ids.empty()) << "token inputs carry no prompt";
  EXPECT_EQ(t.seqs[0], (std::vector<int32_t>{10, 11, 12, 151643}));
}

TEST(EmbeddingService, CacheKeyIsTheSameForTextAndForItsIdsGivenAsTokens) {
  auto svc = make_service(tiny_model());
  const EncodedRequest from_text = svc->encode(texts({"The capital of China is Beijing."}), EmbedParams{});
  std::vector<int32_t> ids = from_text.seqs[0];
  ids.pop_back();  // without the EOS, as a client would send them
  const EncodedRequest from_ids = svc->encode(tokens({ids}), EmbedParams{});
  const EncodedRequest with_eos = svc->encode(tokens({from_text.seqs[0]}), EmbedParams{});
  EXPECT_EQ(svc->cache_key(from_text.seqs[0]), svc->cache_key(from_ids.seqs[0]));
  EXPECT_EQ(svc->cache_key(from_text.seqs[0]), svc->cache_key(with_eos.seqs[0]));
  const CacheKey k = svc->cache_key(from_text.seqs[0]);
  EXPECT_EQ(k.model_fingerprint, svc->model_info().fingerprint);
  EXPECT_EQ(k.numeric_path, svc->model_info().backend.numeric_path);
  EXPECT_NE(k, svc->cache_key(svc->encode(texts({"another text"}), EmbedParams{}).seqs[0]));
  // The vectors agree too.
  const EmbedResult a = svc->embed(texts({"The capital of China is Beijing."}), EmbedParams{});
  const EmbedResult b = svc->embed(tokens({ids}), EmbedParams{});
  EXPECT_GE(cosine(a.vectors[0], b.vectors[0]), 0.999999);
}

TEST(EmbeddingService, ErrorsCarryTheirKindAndNameTheInput) {
  auto svc = make_service(tiny_ctx64_model());
  EmbedInputs in = texts({"fine", ""});
  in.first_index = 10;
  Error e = error_of([&] { svc->encode(in, EmbedParams{}); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  EXPECT_STREQ(e.what(), "input 11 is an empty string");

  const std::string long_text = [] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "word ";
    return s;
  }();
  EmbedParams p;
  p.truncate_hint = "\"truncate\": true";
  e = error_of([&] { svc->encode(texts({"short", long_text}), p); });
  EXPECT_EQ(e.kind(), ErrorKind::kLimit);
  EXPECT_STREQ(e.what(), "input 1 has 202 tokens, the limit is 64 (use \"truncate\": true to keep the first 64)");

  e = error_of([&] { svc->encode(tokens({{1, 2}, {3, -5}}), EmbedParams{}); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(std::string(e.what()).find("input 1 has token id -5, outside the vocabulary [0, 151669)"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(error_of([&] { svc->encode(tokens({{}}), EmbedParams{}); }).kind(), ErrorKind::kInvalidInput);

  EmbedParams dims;
  dims.dimensions = 300;
  e = error_of([&] { svc->encode(texts({"a"}), dims); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  EXPECT_STREQ(e.what(), "dimensions 300 is out of range: this model supports 32 to 256");

  EmbedParams both;
  both.prompt_name = "query";
  both.instruction = "task";
  EXPECT_EQ(error_of([&] { svc->encode(texts({"a"}), both); }).kind(), ErrorKind::kInvalidInput);
  EXPECT_EQ(error_of([&] { svc->encode(tokens({{1}}), both); }).kind(), ErrorKind::kInvalidInput)
      << "prompt fields are checked for token inputs too";

  e = error_of([&] { svc->encode(texts({"ok", std::string("bad \xff utf8")}), EmbedParams{}); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  EXPECT_EQ(std::string(e.what()).rfind("input 1: ", 0), 0u) << e.what();
  EXPECT_EQ(error_of([&] { svc->encode(texts({}), EmbedParams{}); }).kind(), ErrorKind::kInvalidInput);
}

TEST(EmbeddingService, TruncationRightAndLeft) {
  auto svc = make_service(tiny_ctx64_model());
  std::string long_text;
  for (int i = 0; i < 100; ++i) {
    long_text += 'w';
    long_text += std::to_string(i);
    long_text += ' ';
  }
  auto full_svc = make_service(tiny_model());
  std::vector<int32_t> full = full_svc->encode(texts({long_text}), EmbedParams{}).seqs[0];
  ASSERT_GT(full.size(), 64u);

  EmbedParams right;
  right.truncate = true;
  const std::vector<int32_t> r = svc->encode(texts({long_text}), right).seqs[0];
  ASSERT_EQ(r.size(), 64u);
  EXPECT_TRUE(std::equal(r.begin(), r.end() - 1, full.begin())) << "keeps the first tokens";
  EXPECT_EQ(r.back(), 151643);

  EmbedParams left = right;
  left.truncation_side = TruncationSide::kLeft;
  const std::vector<int32_t> l = svc->encode(texts({long_text}), left).seqs[0];
  ASSERT_EQ(l.size(), 64u);
  EXPECT_TRUE(std::equal(l.begin(), l.end(), full.end() - 64)) << "keeps the last tokens, EOS last";
  const EmbedResult v = svc->embed(texts({long_text}), left);
  EXPECT_EQ(v.n_tokens[0], 64);
}

TEST(EmbeddingService, TokenizeShowsPiecesWithOffsetsAndEos) {
  auto svc = make_service(tiny_model());
  EmbedParams query;
  query.prompt_name = "query";
  const std::vector<TokenizedInput> t = svc->tokenize({"héllo world"}, query);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].text, svc->prompt_text(query) + "héllo world");
  std::string joined;
  for (size_t i = 0; i + 1 < t[0].pieces.size(); ++i) {
    const TokenPiece& p = t[0].pieces[i];
    EXPECT_EQ(p.start, joined.size());
    joined += p.text;
    EXPECT_EQ(p.stop, joined.size());
  }
  EXPECT_EQ(joined, t[0].text);
  EXPECT_EQ(t[0].pieces.back().id, 151643);
  EXPECT_TRUE(t[0].pieces.back().special);
  EXPECT_EQ(t[0].pieces.back().start, t[0].text.size());
  std::vector<int32_t> ids;
  for (const TokenPiece& p : t[0].pieces) ids.push_back(p.id);
  EXPECT_EQ(ids, svc->encode(texts({"héllo world"}), query).seqs[0]) << "the ids embed() computes";
  const std::vector<TokenizedInput> plain = svc->tokenize({"héllo world"}, EmbedParams{}, false);
  EXPECT_NE(plain[0].pieces.back().id, 151643) << "no EOS without add_special";
}

TEST(EmbeddingService, WarmPromptLetsQueriesReuseItsKeysAndValues) {
  ServiceOptions cached_opt = small_options();
  auto cached = make_service(tiny_model(), cached_opt);
  ServiceOptions off = small_options();
  off.prefix_cache_bytes = 0;
  auto uncached = make_service(tiny_model(), off);
  EmbedParams query;
  query.prompt_name = "query";
  cached->warm_prompt(query);
  const std::vector<std::string> qs = {"what is the capital of China?", "x", "The sky is blue"};
  const EmbedResult a = cached->embed(texts(qs), query);
  const EmbedResult b = uncached->embed(texts(qs), query);
  EXPECT_EQ(cached->stats().prefix_inputs_reused_total.load(), 3);
  EXPECT_EQ(cached->stats().prefix_hits_total.load(), 1) << "warmed before the request";
  EXPECT_EQ(uncached->stats().prefix_inputs_reused_total.load(), 0);
  for (size_t i = 0; i < qs.size(); ++i) EXPECT_GE(cosine(a.vectors[i], b.vectors[i]), 0.99999) << i;
}

TEST(EmbeddingService, NonFiniteResultIsAnErrorNamingTheInput) {
  // A copy of the tiny model with one output-norm weight set to NaN: component 100 of every vector is NaN.
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qembed-nan-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "nan.gguf";
  fs::copy_file(tiny_model(), path, fs::copy_options::overwrite_existing);
  size_t offset = 0;
  {
    auto g = GgufFile::open(path.string());
    const GgufTensorInfo* t = g->find_tensor("output_norm.weight");
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->type, GgmlType::F32);
    offset = g->data_offset() + t->offset + 100 * sizeof(float);
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  {
    auto svc = make_service(path.string());
    EmbedInputs in = texts({"a", "b"});
    in.first_index = 3;
    const Error e = error_of([&] { svc->embed(in, EmbedParams{}); });
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("input 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EmbedParams first64;
    first64.dimensions = 64;
    EXPECT_NO_THROW(svc->embed(texts({"a"}), first64)) << "the NaN component is not part of the result";
  }
  fs::remove_all(dir);
}

TEST(EmbeddingService, StoppedServiceRefusesWork) {
  auto svc = make_service(tiny_model());
  EXPECT_EQ(svc->embed(texts({"before"}), EmbedParams{}).vectors.size(), 1u);
  svc->stop();
  const Error e = error_of([&] { svc->embed(texts({"after"}), EmbedParams{}); });
  EXPECT_EQ(e.kind(), ErrorKind::kLimit);
  EXPECT_EQ(svc->submit(svc->encode(texts({"x"}), EmbedParams{}), nullptr), Admission::kStopping);
}

}  // namespace
}  // namespace qembed::service
