// matmul() at every SIMD level against matmul_ref on odd shapes, for every weight type.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {
namespace {

struct OwnedWeights {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

OwnedWeights make_weights(GgmlType type, int64_t n_out, int64_t n_in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n_in));
  OwnedWeights ow;
  ow.w.name = "test";
  ow.w.type = type;
  ow.w.n_in = n_in;
  ow.w.n_out = n_out;
  ow.w.row_bytes = ggml_row_bytes(type, n_in);
  ow.bytes.resize(ow.w.row_bytes * static_cast<size_t>(n_out));
  for (int64_t o = 0; o < n_out; ++o) {
    for (auto& v : row) v = dist(rng);
    quantize_row_ref(type, row.data(), ow.bytes.data() + o * ow.w.row_bytes, n_in);
  }
  ow.w.data = ow.bytes.data();
  return ow;
}

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// sum_k |w[o][k] x[t][k]| in double: the scale of the rounding error of any summation order.
std::vector<double> abs_products(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> row(static_cast<size_t>(w.n_in));
  std::vector<double> out(static_cast<size_t>(n_tokens * w.n_out));
  for (int64_t o = 0; o < w.n_out; ++o) {
    dequantize_row_ref(w.type, w.row(o), row.data(), w.n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double acc = 0.0;
      for (int64_t k = 0; k < w.n_in; ++k) acc += std::fabs(static_cast<double>(row[k]) * x[t * w.n_in + k]);
      out[t * w.n_out + o] = acc;
    }
  }
  return out;
}

// max over outputs of |y - ref| / sum_k |w x|: a few float epsilons for a correct kernel, and about the share of
// the terms that went wrong for a broken one (one missing 32-block of 1056 values -> ~3e-2).
double max_rel_error(const std::vector<float>& y, const std::vector<float>& ref, const std::vector<double>& scale) {
  double worst = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(static_cast<double>(y[i]) - ref[i]) / (scale[i] + 1e-30);
    if (std::isnan(err)) return INFINITY;
    worst = std::max(worst, err);
  }
  return worst;
}

std::vector<SimdLevel> levels() {
  std::vector<SimdLevel> out{SimdLevel::Scalar};
  if (simd_level_hardware() >= SimdLevel::Avx2) out.push_back(SimdLevel::Avx2);
  if (simd_level_hardware() >= SimdLevel::Avx512) out.push_back(SimdLevel::Avx512);
  return out;
}

class LevelGuard {
 public:
  explicit LevelGuard(SimdLevel l) : saved_(simd_level()) { set_simd_level(l); }
  ~LevelGuard() { set_simd_level(saved_); }

 private:
  SimdLevel saved_;
};

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
        for (SimdLevel level : levels()) {
          LevelGuard guard(level);
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

}  // namespace
}  // namespace qembed
