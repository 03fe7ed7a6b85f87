// The int8 path: repacking is exact, the VNNI kernels match the scalar int8 oracle on odd shapes and thread
// counts, the oracle stays within the activation-rounding bound of the f32 reference, and matmul() picks the int8
// path only at avx512vnni and above, and only with the packed copy its caller passes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/quant_blocks.hpp"
#include "matmul_test_support.hpp"

namespace qembed {
namespace {

using namespace qembed::test;

// Weight (o, k) as the packed record says: s * (u - z) + m.
float packed_value(const Int8Weights& p, int64_t o, int64_t k) {
  constexpr int G = Int8Weights::kGroupRows;
  const uint8_t* rec = p.record(o / G, k / p.blk);
  const int r = static_cast<int>(o % G), kk = static_cast<int>(k % p.blk);
  const int u = rec[(kk / 4) * (4 * G) + r * 4 + kk % 4];
  const float* s = reinterpret_cast<const float*>(rec + p.blk * G);
  return s[r] * static_cast<float>(u - p.zero_point) + (p.has_offset ? s[G + r] : 0.0f);
}

// Per output: sum over sub-blocks of (sum_k |w|) * d_x / 2, the most that rounding x to d_x * int8 can move the
// exact product (plus float slack), with d_x = max |x| / 127 of the token's sub-block as the kernels choose it.
std::vector<double> rounding_bound(const WeightMatrix& w, int blk, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> row(static_cast<size_t>(w.n_in));
  std::vector<double> out(static_cast<size_t>(n_tokens * w.n_out));
  for (int64_t o = 0; o < w.n_out; ++o) {
    dequantize_row_ref(w.type, w.row(o), row.data(), w.n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double bound = 0.0;
      for (int64_t b = 0; b < w.n_in / blk; ++b) {
        double amax = 0.0, wabs = 0.0;
        for (int k = 0; k < blk; ++k) {
          amax = std::max(amax, std::fabs(static_cast<double>(x[t * w.n_in + b * blk + k])));
          wabs += std::fabs(static_cast<double>(row[b * blk + k]));
        }
        bound += wabs * (amax / 127.0) * 0.5;
      }
      out[t * w.n_out + o] = bound;
    }
  }
  return out;
}

void check_type(GgmlType type, const std::vector<int64_t>& n_ins) {
  const std::vector<int64_t> n_tokens_list{1, 2, 3, 7, 8, 9, 17, 64, 65, 130};
  const std::vector<int64_t> n_outs{1, 3, 17, 33, 100};
  const bool vnni = simd_level_hardware() >= SimdLevel::Avx512Vnni;
  ThreadPool pool1(1), pool2(2), pool3(3);
  uint32_t seed = 100;
  for (int64_t n_in : n_ins) {
    for (int64_t n_out : n_outs) {
      OwnedWeights ow = make_weights(type, n_out, n_in, seed++);
      const auto packed = pack_int8(ow.w);
      std::vector<float> row(static_cast<size_t>(n_in));
      for (int64_t o = 0; o < n_out; ++o) {
        dequantize_row_ref(type, ow.w.row(o), row.data(), n_in);
        for (int64_t k = 0; k < n_in; ++k)
          ASSERT_EQ(packed_value(*packed, o, k), row[k]) << ggml_type_info(type).name << " o=" << o << " k=" << k;
      }
      for (int64_t n_tokens : n_tokens_list) {
        if (n_tokens * n_in * n_out > 20'000'000) continue;
        const auto x = random_vector(static_cast<size_t>(n_tokens * n_in), seed++);
        std::vector<float> ref(static_cast<size_t>(n_tokens * n_out)), oracle(ref.size());
        matmul_ref(ow.w, x.data(), n_tokens, ref.data());
        matmul_int8_ref(*packed, x.data(), n_tokens, oracle.data());
        const auto scale = abs_products(ow.w, x, n_tokens);
        const auto bound = rounding_bound(ow.w, packed->blk, x, n_tokens);
        for (size_t i = 0; i < ref.size(); ++i) {
          ASSERT_LE(std::fabs(static_cast<double>(oracle[i]) - ref[i]), bound[i] + 1e-6 * scale[i])
              << ggml_type_info(type).name << " T=" << n_tokens << " n_in=" << n_in << " n_out=" << n_out;
        }
        if (!vnni) continue;
        ScopedSimdLevel guard(SimdLevel::Avx512Vnni);
        for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
          std::vector<float> y(ref.size(), std::nanf(""));
          matmul(ow.w, packed.get(), x.data(), n_tokens, y.data(), *pool);
          ASSERT_LT(max_rel_error(y, oracle, scale), 1e-6)
              << ggml_type_info(type).name << " threads=" << pool->size() << " T=" << n_tokens << " n_in=" << n_in
              << " n_out=" << n_out;
        }
      }
    }
  }
}

TEST(MatmulInt8, Q8_0) { check_type(GgmlType::Q8_0, {32, 96, 1056}); }
TEST(MatmulInt8, Q4_0) { check_type(GgmlType::Q4_0, {32, 288}); }
TEST(MatmulInt8, Q4_1) { check_type(GgmlType::Q4_1, {32, 288}); }
TEST(MatmulInt8, Q5_0) { check_type(GgmlType::Q5_0, {32, 288}); }
TEST(MatmulInt8, Q5_1) { check_type(GgmlType::Q5_1, {32, 288}); }
TEST(MatmulInt8, Q4_K) { check_type(GgmlType::Q4_K, {256, 768}); }
TEST(MatmulInt8, Q5_K) { check_type(GgmlType::Q5_K, {256, 768}); }
TEST(MatmulInt8, Q6_K) { check_type(GgmlType::Q6_K, {256, 768}); }

TEST(MatmulInt8, FloatTypesAreNotPacked) {
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) EXPECT_FALSE(int8_packable(t));
}

// Below avx512vnni the packed copy is ignored: the result is the f32 path's (within f32 rounding of matmul_ref),
// which the activation rounding of the int8 path would exceed.
TEST(MatmulInt8, LowerLevelsUseTheFloatPath) {
  OwnedWeights ow = make_weights(GgmlType::Q8_0, 40, 256, 3);
  const auto packed = pack_int8(ow.w);
  const auto x = random_vector(5 * 256, 4);
  std::vector<float> ref(5 * 40);
  matmul_ref(ow.w, x.data(), 5, ref.data());
  const auto scale = abs_products(ow.w, x, 5);
  ThreadPool pool(2);
  for (SimdLevel level : simd_levels_available()) {
    std::vector<float> y(ref.size()), y_explicit(ref.size());
    {
      ScopedSimdLevel guard(level);
      matmul(ow.w, packed.get(), x.data(), 5, y.data(), pool);  // the process-wide level (the default)
    }
    // The level a caller passes wins over the process-wide one (a backend fixes its level at construction).
    ScopedSimdLevel other(level == SimdLevel::Scalar ? simd_level_hardware() : SimdLevel::Scalar);
    matmul(ow.w, packed.get(), x.data(), 5, y_explicit.data(), pool, level);
    EXPECT_EQ(y_explicit, y) << simd_level_name(level);
    const double err = max_rel_error(y, ref, scale);
    if (level >= SimdLevel::Avx512Vnni) {
      EXPECT_GT(err, 1e-5) << "int8 path expected at " << simd_level_name(level);
    } else {
      EXPECT_LT(err, 1e-6) << simd_level_name(level);
    }
  }
  // Without the packed copy the int8 path is never taken.
  std::vector<float> y(ref.size());
  matmul(ow.w, nullptr, x.data(), 5, y.data(), pool, simd_level_hardware());
  EXPECT_LT(max_rel_error(y, ref, scale), 1e-6);
}

}  // namespace
}  // namespace qembed
