// The CPU backend's fast forward pass against the scalar reference, batching/chunking invariance, and the SIMD
// level fixed per backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/forward_reference.hpp"
#include "cpu_engine_fixture.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul_int8.hpp"
#include "model/model.hpp"
#include "../support/generated_models.hpp"
#include "test_vectors.hpp"

namespace qembed {
namespace {

using testing::cosine;
using testing::random_tokens;

class ForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardTest, FastMatchesReferenceAndIsBatchInvariant) {
  std::string type = GetParam();
  std::string path = testing::generated_model("engine-tiny-seed11-" + type + ".gguf",
                                              "--shape tiny --format gguf --seed 11 --type " + type);
  auto model = Model::load(path);
  const int32_t eos = model->tokenizer->eos_id();
  std::mt19937 rng(5);
  std::vector<std::vector<int32_t>> seqs;
  for (int n : {1, 2, 7, 33, 80, 150}) seqs.push_back(random_tokens(rng, n, eos));

  // Several chunks per batch, chunks crossing sequence boundaries.
  testing::CpuEngine e = testing::make_cpu_engine(*model, /*chunk_tokens=*/64);
  std::vector<std::vector<float>> batched = e->embed(seqs);
  ASSERT_EQ(batched.size(), seqs.size());
  // Against the model's math (f32 activations): 0.99999, or 0.9999 where this CPU runs quantized weights on the
  // int8 path, whose activation rounding costs ~5e-5 of cosine here (the parity threshold for these types is
  // 0.9995 / 0.995; docs/design.md "Numerics"). Against the fast pass's own arithmetic (forward_reference with the
  // backend's prepared weights): 0.99995, as a last-ulp difference can flip an activation's int8 code.
  const bool packed_path = e.cpu->info().prepared_bytes > 0;
  EXPECT_EQ(packed_path, int8_path_at(e.cpu->level()) && type != "F32" && type != "F16" && type != "BF16");
  const double model_threshold = packed_path ? 0.9999 : 0.99999;
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<float> ref = forward_reference(*model, seqs[i]);
    std::vector<float> like_fast = forward_reference(*model, seqs[i], &e.cpu->weights());
    std::vector<float> alone = e->embed({seqs[i]})[0];
    EXPECT_GT(cosine(ref, batched[i]), model_threshold) << "seq " << i << " len " << seqs[i].size();
    EXPECT_GT(cosine(like_fast, batched[i]), packed_path ? 0.99995 : 0.99999)
        << "seq " << i << " len " << seqs[i].size();
    EXPECT_GT(cosine(alone, batched[i]), 0.99999) << "batch invariance, seq " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, ForwardTest, ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_K_M"));

// Quantized weights below avx2 (QEMBED_SIMD=scalar) take the f32 path: the model's math at 0.99999.
// The level is the backend's, read once when it is made: changing the process level afterwards changes nothing.
TEST(ForwardLevels, QuantizedWeightsOnTheFloatPathMatchTheReferenceExactly) {
  for (std::string type : {"Q8_0", "Q4_K_M"}) {
    auto model = Model::load(testing::generated_model("engine-tiny-seed11-" + type + ".gguf",
                                                      "--shape tiny --format gguf --seed 11 --type " + type));
    std::mt19937 rng(9);
    std::vector<std::vector<int32_t>> seqs{random_tokens(rng, 3, model->tokenizer->eos_id()),
                                           random_tokens(rng, 40, model->tokenizer->eos_id())};
    const SimdLevel f32_level = SimdLevel::Scalar;
    ASSERT_FALSE(int8_path_at(f32_level));
    std::optional<testing::CpuEngine> e;
    std::vector<std::vector<float>> out;
    {
      ScopedSimdLevel f32_path(f32_level);  // for the backend's construction only
      e = testing::make_cpu_engine(*model, 512);
    }
    EXPECT_EQ(e->cpu->level(), f32_level);
    EXPECT_EQ(e->cpu->info().numeric_path, std::string("cpu/") + simd_level_name(f32_level));
    EXPECT_EQ(e->cpu->info().prepared_bytes, 0);
    out = (*e)->embed(seqs);
    for (size_t i = 0; i < seqs.size(); ++i) {
      EXPECT_GT(cosine(forward_reference(*model, seqs[i]), out[i]), 0.99999) << type << " seq " << i;
    }
    // Another level in the process (e.g. the hardware's) while the backend lives: its results keep every bit.
    ScopedSimdLevel other(simd_level_hardware());
    EXPECT_EQ((*e)->embed(seqs), out) << type;
  }
}

TEST(ForwardHf, SafetensorsFolderMatchesGgufOfSameSeed) {
  std::string gguf =
      testing::generated_model("engine-tiny-seed3-F32.gguf", "--shape tiny --format gguf --seed 3 --type F32");
  std::string hf = testing::generated_model("engine-tiny-seed3-hf-F32", "--shape tiny --format hf --seed 3 --type F32");
  auto a = Model::load(gguf);
  auto b = Model::load(hf);
  std::vector<int32_t> toks = a->tokenizer->encode("The capital of China is Beijing.");
  std::vector<int32_t> toks_b = b->tokenizer->encode("The capital of China is Beijing.");
  EXPECT_EQ(toks, toks_b);
  toks.push_back(a->tokenizer->eos_id());
  EXPECT_GT(cosine(forward_reference(*a, toks), forward_reference(*b, toks)), 0.999999);
}

}  // namespace
}  // namespace qembed
