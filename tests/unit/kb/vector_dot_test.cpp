// The vector index's dot-product kernels (kb/store/vector_dot.hpp): every level this CPU runs against the scalar
// reference, on sizes that hit every tail (0, 1, odd, one under/over a vector width, the model widths).
#include "kb/store/vector_dot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kb/store/vector_codec.hpp"

namespace qembed::kb {
namespace {

const size_t kSizes[] = {0,  1,  3,  7,   8,   9,   15,  16,  17,   31,   32,  33,
                         63, 64, 65, 100, 127, 128, 129, 384, 1000, 1024, 1031};

std::vector<DotLevel> supported_levels() {
  std::vector<DotLevel> out;
  for (DotLevel l : {DotLevel::kScalar, DotLevel::kAvx2, DotLevel::kAvx512}) {
    if (dot_level_supported(l)) out.push_back(l);
  }
  return out;
}

TEST(VectorDot, F32KernelsAgreeWithTheScalarReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (DotLevel level : supported_levels()) {
    const DotF32Fn dot = dot_f32_kernel(level);
    for (size_t n : kSizes) {
      // Offset by one float so unaligned loads are exercised.
      std::vector<float> a(n + 1), b(n + 1);
      for (auto& v : a) v = normal(rng);
      for (auto& v : b) v = normal(rng);
      double exact = 0, magnitude = 0;
      for (size_t i = 0; i < n; ++i) {
        exact += static_cast<double>(a[i + 1]) * b[i + 1];
        magnitude += std::fabs(static_cast<double>(a[i + 1]) * b[i + 1]);
      }
      const float got = dot(a.data() + 1, b.data() + 1, n);
      const float reference = dot_detail::dot_f32_scalar(a.data() + 1, b.data() + 1, n);
      // Both are float sums in different orders: each within a few ulp of the summed magnitudes of the exact value.
      EXPECT_NEAR(got, exact, 1e-6 * magnitude + 1e-30) << dot_level_name(level) << " n=" << n;
      EXPECT_NEAR(got, reference, 2e-6 * magnitude + 1e-30) << dot_level_name(level) << " n=" << n;
    }
  }
}

TEST(VectorDot, Int8KernelsAreExact) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> code(-127, 127);
  for (DotLevel level : supported_levels()) {
    const DotInt8Fn dot = dot_int8_kernel(level);
    for (size_t n : kSizes) {
      std::vector<int8_t> a(n + 1), b(n + 1);
      for (auto& v : a) v = static_cast<int8_t>(code(rng));
      for (auto& v : b) v = static_cast<int8_t>(code(rng));
      EXPECT_EQ(dot(a.data() + 1, b.data() + 1, n), dot_detail::dot_int8_scalar(a.data() + 1, b.data() + 1, n))
          << dot_level_name(level) << " n=" << n;
    }
    // The extreme: every product 127·127 (or -127·127), 1031 of them.
    std::vector<int8_t> plus(1031, 127), minus(1031, -127);
    EXPECT_EQ(dot(plus.data(), plus.data(), plus.size()), 1031 * 127 * 127) << dot_level_name(level);
    EXPECT_EQ(dot(plus.data(), minus.data(), plus.size()), -1031 * 127 * 127) << dot_level_name(level);
  }
}

TEST(VectorDot, TheChosenLevelIsSupportedAndUsedByTheCodec) {
  EXPECT_TRUE(dot_level_supported(dot_level()));
  const std::vector<float> a = {1, 2, 3, 4, 5, 6, 7, 8, 9}, b = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_FLOAT_EQ(dot_f32(a.data(), b.data(), a.size()), 165.0f);
  const std::vector<int8_t> c = {1, -2, 3}, d = {4, 5, -6};
  EXPECT_EQ(dot_int8(c.data(), d.data(), c.size()), 4 - 10 - 18);
}

}  // namespace
}  // namespace qembed::kb
