// matmul() at every SIMD level against matmul_ref on odd shapes, for every weight type.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/quant_blocks.hpp"
#include "matmul_test_support.hpp"

namespace qembed {
namespace {

using namespace qembed::test;

void check_type(GgmlType type, const std::vector<int64_t>& n_ins) {
  const std::vector<int64_t> n_tokens_list{1, 2, 3, 4, 7, 17, 64, 130};
  const std::vector<int64_t> n_outs{1, 3, 33, 100};
  ThreadPool pool1(1), pool2(2), pool3(3);
  uint32_t seed = 1;
  for (int64_t n_in : n_ins) {
    for (int64_t n_out : n_outs) {
      OwnedWeights ow = make_weights(type, n_out, n_in, seed++);
      for (int64_t n_tokens : n_tokens_list) {
        if (n_tokens * n_in * n_out > 40'000'000) continue;
        const auto x = random_vector(static_cast<size_t>(n_tokens * n_in), seed++);
        std::vector<float> ref(static_cast<size_t>(n_tokens * n_out));
        matmul_ref(ow.w, x.data(), n_tokens, ref.data());
        const auto scale = abs_products(ow.w, x, n_tokens);
        for (SimdLevel level : simd_levels_available()) {
          ScopedSimdLevel guard(level);
          for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
            std::vector<float> y(ref.size(), std::nanf(""));
            matmul(ow.w, x.data(), n_tokens, y.data(), *pool);
            const double bound = 1e-6;  // ~16 float epsilons of sum |w x|
            const double err = max_rel_error(y, ref, scale);
            ASSERT_LT(err, bound) << ggml_type_info(type).name << " level=" << simd_level_name(level)
                                  << " threads=" << pool->size() << " T=" << n_tokens << " n_in=" << n_in
                                  << " n_out=" << n_out;
          }
        }
      }
    }
  }
}

TEST(Matmul, F32) { check_type(GgmlType::F32, {1, 5, 16, 33, 256, 300, 1056}); }
TEST(Matmul, F16) { check_type(GgmlType::F16, {1, 7, 32, 257, 1056}); }
TEST(Matmul, BF16) { check_type(GgmlType::BF16, {3, 32, 255, 1056}); }
TEST(Matmul, Q8_0) { check_type(GgmlType::Q8_0, {32, 288, 1056}); }
TEST(Matmul, Q4_0) { check_type(GgmlType::Q4_0, {32, 288, 1056}); }
TEST(Matmul, Q4_1) { check_type(GgmlType::Q4_1, {32, 288, 1056}); }
TEST(Matmul, Q5_0) { check_type(GgmlType::Q5_0, {32, 288, 1056}); }
TEST(Matmul, Q5_1) { check_type(GgmlType::Q5_1, {32, 288, 1056}); }
TEST(Matmul, Q4_K) { check_type(GgmlType::Q4_K, {256, 768}); }
TEST(Matmul, Q5_K) { check_type(GgmlType::Q5_K, {256, 768}); }
TEST(Matmul, Q6_K) { check_type(GgmlType::Q6_K, {256, 768}); }

// The bound above must be able to fail: a corrupted output is caught.
TEST(Matmul, ErrorMetricDetectsACorruptedOutput) {
  OwnedWeights ow = make_weights(GgmlType::F32, 33, 64, 7);
  const auto x = random_vector(3 * 64, 8);
  std::vector<float> ref(3 * 33), y(3 * 33);
  matmul_ref(ow.w, x.data(), 3, ref.data());
  ThreadPool pool(2);
  matmul(ow.w, x.data(), 3, y.data(), pool);
  const auto scale = abs_products(ow.w, x, 3);
  EXPECT_LT(max_rel_error(y, ref, scale), 1e-6);
  y[40] += 1e-4f * static_cast<float>(scale[40]);
  EXPECT_GT(max_rel_error(y, ref, scale), 1e-6);
  y[40] = std::nanf("");
  EXPECT_FALSE(max_rel_error(y, ref, scale) < 1e-6);
}

TEST(Matmul, LargeTokenCountCrossesTokenBlocks) {
  OwnedWeights ow = make_weights(GgmlType::F16, 70, 544, 11);
  const int64_t n_tokens = 600;
  const auto x = random_vector(static_cast<size_t>(n_tokens * 544), 12);
  std::vector<float> ref(static_cast<size_t>(n_tokens * 70)), y(ref.size());
  matmul_ref(ow.w, x.data(), n_tokens, ref.data());
  ThreadPool pool(2);
  matmul(ow.w, x.data(), n_tokens, y.data(), pool);
  EXPECT_LT(max_rel_error(y, ref, abs_products(ow.w, x, n_tokens)), 1e-6);
}

// A token's output never depends on how many tokens share the call (a batch, or the chunk of one the forward pass
// runs): bit for bit, at every level, on the f32 path and the int8 copies, with 1 or 2 threads. The service's batch
// invariance rests on this.
TEST(Matmul, EachTokensOutputIsTheSameInAnyBatch) {
  const int64_t n_in = 512, n_out = 40, max_tokens = 33;
  const auto x = random_vector(static_cast<size_t>(max_tokens * n_in), 21);
  ThreadPool pool1(1), pool2(2);
  uint32_t seed = 30;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_K,
                        GgmlType::Q6_K}) {
    OwnedWeights ow = make_weights(type, n_out, n_in, seed++);
    for (SimdLevel level : simd_levels_available()) {
      const auto packed = int8_packable(type) && int8_path_at(level) ? pack_int8(ow.w, /*nibbles=*/true) : nullptr;
      std::vector<float> all(static_cast<size_t>(max_tokens * n_out));
      matmul(ow.w, packed.get(), x.data(), max_tokens, all.data(), pool2, level);
      for (int64_t n_tokens = 1; n_tokens <= max_tokens; ++n_tokens) {
        for (ThreadPool* pool : {&pool1, &pool2}) {
          std::vector<float> y(static_cast<size_t>(n_tokens * n_out));
          matmul(ow.w, packed.get(), x.data(), n_tokens, y.data(), *pool, level);
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_EQ(y[i], all[i]) << ggml_type_info(type).name << " level=" << simd_level_name(level)
                                    << " threads=" << pool->size() << " token " << i / n_out << " of " << n_tokens;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace qembed
