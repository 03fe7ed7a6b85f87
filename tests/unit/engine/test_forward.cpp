// The fast forward pass against the scalar reference, and batching/chunking invariance.
#include <random>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/embedder.hpp"
#include "engine/embedding_options.hpp"
#include "engine/forward_pass.hpp"
#include "engine/forward_reference.hpp"
#include "kernels/cpu_features.hpp"
#include "model/model.hpp"
#include "test_model_fixture.hpp"
#include "test_vectors.hpp"

namespace qembed {
namespace {

using testing::cosine;
using testing::random_tokens;

class ForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardTest, FastMatchesReferenceAndIsBatchInvariant) {
  std::string type = GetParam();
  std::string path = testing::generated_model("engine-tiny-seed11-" + type + ".gguf", "--shape tiny --format gguf --seed 11 --type " + type);
  auto model = Model::load(path);
  const int32_t eos = model->tokenizer->eos_id();
  std::mt19937 rng(5);
  std::vector<std::vector<int32_t>> seqs;
  for (int n : {1, 2, 7, 33, 80, 150}) seqs.push_back(random_tokens(rng, n, eos));

  EmbedderOptions opt;
  opt.n_threads = 2;
  opt.chunk_tokens = 64;  // several chunks per batch, chunks crossing sequence boundaries
  Embedder embedder(*model, opt);
  std::vector<std::vector<float>> batched = embedder.embed(seqs);
  ASSERT_EQ(batched.size(), seqs.size());
  // Against the model's math (f32 activations): 0.99999, or 0.9999 where this CPU runs quantized weights on the
  // int8 path, whose activation rounding costs ~5e-5 of cosine here (the parity threshold for these types is
  // 0.9995 / 0.995; docs/design.md "Numerics"). Against the fast pass's own arithmetic (forward_reference
  // kLikeFast): 0.99995, as a last-ulp difference can flip an activation's int8 code.
  const bool packed_path = model->repacked_bytes > 0 && simd_level() >= SimdLevel::Avx512Vnni;
  const double model_threshold = packed_path ? 0.9999 : 0.99999;
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<float> ref = forward_reference(*model, seqs[i]);
    std::vector<float> like_fast = forward_reference(*model, seqs[i], ReferenceMatmul::kLikeFast);
    std::vector<float> alone = embedder.embed({seqs[i]})[0];
    EXPECT_GT(cosine(ref, batched[i]), model_threshold) << "seq " << i << " len " << seqs[i].size();
    EXPECT_GT(cosine(like_fast, batched[i]), packed_path ? 0.99995 : 0.99999) << "seq " << i << " len " << seqs[i].size();
    EXPECT_GT(cosine(alone, batched[i]), 0.99999) << "batch invariance, seq " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, ForwardTest, ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_K_M"));

// Quantized weights below avx512vnni (or with QEMBED_SIMD=avx512) take the f32 path: the model's math at 0.99999.
TEST(ForwardLevels, QuantizedWeightsOnTheFloatPathMatchTheReferenceExactly) {
  for (std::string type : {"Q8_0", "Q4_K_M"}) {
    auto model = Model::load(testing::generated_model("engine-tiny-seed11-" + type + ".gguf",
                                                      "--shape tiny --format gguf --seed 11 --type " + type));
    std::mt19937 rng(9);
    std::vector<std::vector<int32_t>> seqs{random_tokens(rng, 3, model->tokenizer->eos_id()),
                                           random_tokens(rng, 40, model->tokenizer->eos_id())};
    std::vector<std::vector<float>> out;
    {
      ScopedSimdLevel f32_path(std::min(simd_level(), SimdLevel::Avx512));  // for the embedder only
      EmbedderOptions opt;
      opt.n_threads = 2;
      Embedder embedder(*model, opt);
      out = embedder.embed(seqs);
    }
    for (size_t i = 0; i < seqs.size(); ++i) {
      EXPECT_GT(cosine(forward_reference(*model, seqs[i]), out[i]), 0.99999) << type << " seq " << i;
    }
  }
}

TEST(ForwardHf, SafetensorsFolderMatchesGgufOfSameSeed) {
  std::string gguf = testing::generated_model("engine-tiny-seed3-F32.gguf", "--shape tiny --format gguf --seed 3 --type F32");
  std::string hf = testing::generated_model("engine-tiny-seed3-hf-F32", "--shape tiny --format hf --seed 3 --type F32");
  auto a = Model::load(gguf);
  auto b = Model::load(hf);
  std::vector<int32_t> toks = a->tokenizer->encode("The capital of China is Beijing.");
  std::vector<int32_t> toks_b = b->tokenizer->encode("The capital of China is Beijing.");
  EXPECT_EQ(toks, toks_b);
  toks.push_back(a->tokenizer->eos_id());
  EXPECT_GT(cosine(forward_reference(*a, toks), forward_reference(*b, toks)), 0.999999);
}

TEST(EmbeddingOptions, InstructionFormatIsExact) {
  EXPECT_EQ(format_instruction("T", "q"), "Instruct: T\nQuery:q");
}

TEST(EmbeddingOptions, DimensionsRangeNamed) {
  EXPECT_NO_THROW(check_dimensions(32, 1024));
  EXPECT_NO_THROW(check_dimensions(1024, 1024));
  try {
    check_dimensions(16, 1024);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("32 to 1024"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_dimensions(1025, 1024), Error);
}

TEST(EmbeddingOptions, MatryoshkaTruncatesThenNormalizes) {
  std::vector<float> pooled = {3, 4, 100, 100};
  std::vector<float> v = finalize_embedding(pooled.data(), 4, 2, true);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], 0.6, 1e-6);
  EXPECT_NEAR(v[1], 0.8, 1e-6);
  std::vector<float> raw = finalize_embedding(pooled.data(), 4, 0, false);
  EXPECT_EQ(raw, pooled);
}

TEST(EmbeddingOptions, EosAppendedOnceAndTruncationKeepsEos) {
  std::vector<int32_t> t = {1, 2, 3};
  fit_tokens(t, 9, true, 10, false, 0);
  EXPECT_EQ(t, (std::vector<int32_t>{1, 2, 3, 9}));
  fit_tokens(t, 9, true, 10, false, 0);  // already ends in EOS: not appended twice
  EXPECT_EQ(t.size(), 4u);
  std::vector<int32_t> long_t(20, 5);
  EXPECT_THROW(fit_tokens(long_t, 9, true, 10, false, 3), Error);
  fit_tokens(long_t, 9, true, 10, true, 3);
  EXPECT_EQ(long_t.size(), 10u);
  EXPECT_EQ(long_t.back(), 9);
}

}  // namespace
}  // namespace qembed
