// The bf16 path: repacking keeps every value, the AVX-512 BF16 kernel matches the scalar bf16 oracle on odd
// shapes and thread counts, the oracle stays within the bf16 activation-rounding bound of the f32 reference, and
// matmul() takes the path only at avx512bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/bf16_weights.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_bf16.hpp"
#include "kernels/quant_blocks.hpp"
#include "matmul_test_support.hpp"

namespace qembed {
namespace {

using namespace qembed::test;

TEST(MatmulBf16, MatchesOracleAndReference) {
  const bool hw = simd_level_hardware() >= SimdLevel::Avx512Bf16;
  ThreadPool pool1(1), pool2(2), pool3(3);
  uint32_t seed = 300;
  for (int64_t n_in : {1, 2, 7, 32, 33, 255, 1024}) {
    for (int64_t n_out : {1, 3, 17, 33, 100}) {
      OwnedWeights ow = make_weights(GgmlType::BF16, n_out, n_in, seed++);
      const auto packed = pack_bf16(ow.w);
      ow.w.bf16 = packed.get();
      for (int64_t n_tokens : {1, 2, 5, 8, 9, 17, 64, 65, 130}) {
        const auto x = random_vector(static_cast<size_t>(n_tokens * n_in), seed++);
        std::vector<float> ref(static_cast<size_t>(n_tokens * n_out)), oracle(ref.size());
        matmul_ref(ow.w, x.data(), n_tokens, ref.data());
        matmul_bf16_ref(*packed, x.data(), n_tokens, oracle.data());
        const auto scale = abs_products(ow.w, x, n_tokens);
        // bf16 keeps 8 significant bits: rounding moves each activation by at most 2^-8 of itself, the sum by at most
        // 2^-8 sum |w x|.
        ASSERT_LT(max_rel_error(oracle, ref, scale), 1.0 / 256 + 1e-6) << "n_in=" << n_in << " T=" << n_tokens;
        if (!hw) continue;
        LevelGuard guard(SimdLevel::Avx512Bf16);
        for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
          std::vector<float> y(ref.size(), std::nanf(""));
          matmul(ow.w, x.data(), n_tokens, y.data(), *pool);
          ASSERT_LT(max_rel_error(y, oracle, scale), 1e-6)
              << "threads=" << pool->size() << " T=" << n_tokens << " n_in=" << n_in << " n_out=" << n_out;
        }
      }
    }
  }
}

TEST(MatmulBf16, OnlyBf16IsPacked) {
  EXPECT_TRUE(bf16_packable(GgmlType::BF16));
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0}) EXPECT_FALSE(bf16_packable(t));
}

// Below avx512bf16 the packed copy is ignored (f32 path: matmul_ref to float rounding).
TEST(MatmulBf16, LowerLevelsUseTheFloatPath) {
  OwnedWeights ow = make_weights(GgmlType::BF16, 40, 256, 3);
  const auto packed = pack_bf16(ow.w);
  ow.w.bf16 = packed.get();
  const auto x = random_vector(5 * 256, 4);
  std::vector<float> ref(5 * 40);
  matmul_ref(ow.w, x.data(), 5, ref.data());
  const auto scale = abs_products(ow.w, x, 5);
  ThreadPool pool(2);
  for (SimdLevel level : simd_levels_available()) {
    LevelGuard guard(level);
    std::vector<float> y(ref.size());
    matmul(ow.w, x.data(), 5, y.data(), pool);
    const double err = max_rel_error(y, ref, scale);
    if (level >= SimdLevel::Avx512Bf16) {
      EXPECT_GT(err, 1e-5) << "bf16 path expected";
    } else {
      EXPECT_LT(err, 1e-6) << simd_level_name(level);
    }
  }
}

}  // namespace
}  // namespace qembed
