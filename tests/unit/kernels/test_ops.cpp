// rmsnorm, silu_mul and RoPE against straightforward double formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/ops.hpp"

namespace qembed {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(Ops, RmsnormMatchesDoubleFormula) {
  for (SimdLevel level : simd_levels_available())
  for (int64_t n : {1, 3, 16, 17, 64, 1000, 1024, 4096}) {
    const auto x = random_vector(static_cast<size_t>(n), 1 + n, 3.0f);
    const auto w = random_vector(static_cast<size_t>(n), 2 + n);
    const float eps = 1e-6f;
    ScopedSimdLevel scope(level);
    std::vector<float> y(x.size());
    rmsnorm(x.data(), w.data(), y.data(), n, eps);
    double ss = 0;
    for (float v : x) ss += static_cast<double>(v) * v;
    const double inv = 1.0 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i) {
      const double ref = x[i] * inv * w[i];
      ASSERT_NEAR(y[i], ref, 1e-5 * std::fabs(ref) + 1e-6)
          << simd_level_name(level) << " n=" << n << " i=" << i;
    }
    // In place (y aliases x) gives the same values.
    std::vector<float> z = x;
    rmsnorm(z.data(), w.data(), z.data(), n, eps);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(z[i], y[i]);
  }
}

TEST(Ops, SiluMulMatchesDoubleFormula) {
  for (SimdLevel level : simd_levels_available()) {
    ScopedSimdLevel scope(level);
    for (int64_t n : {1, 15, 17, 1000}) {
      auto gate = random_vector(static_cast<size_t>(n), 5, 6.0f);
      if (n > 2) {
        gate[0] = -100.0f;  // exp overflow side: silu -> -0
        gate[1] = 100.0f;
        gate[2] = -87.5f;
      }
      const auto up = random_vector(static_cast<size_t>(n), 6);
      std::vector<float> out(static_cast<size_t>(n));
      silu_mul(gate.data(), up.data(), out.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double g = gate[i];
        const double ref = g / (1.0 + std::exp(-g)) * up[i];
        ASSERT_NEAR(out[i], ref, 1e-6 * std::fabs(ref) + 1e-30) << simd_level_name(level) << " n=" << n << " " << i;
      }
      std::vector<float> alias = gate;  // out aliases gate
      silu_mul(alias.data(), up.data(), alias.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(alias[i], out[i]);
    }
  }
}

void expect_rope_matches(int64_t hd, double theta, int64_t pos, const RopeTable& rope) {
  const auto x = random_vector(static_cast<size_t>(hd), static_cast<uint32_t>(pos + hd));
  std::vector<float> y = x;
  rope.apply(y.data(), pos);
  const int64_t half = hd / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double phi = static_cast<double>(pos) * std::pow(theta, -2.0 * i / hd);
    const double r0 = x[i] * std::cos(phi) - x[i + half] * std::sin(phi);
    const double r1 = x[i + half] * std::cos(phi) + x[i] * std::sin(phi);
    ASSERT_NEAR(y[i], r0, 2e-6 * (std::fabs(x[i]) + std::fabs(x[i + half]))) << "pos=" << pos << " i=" << i;
    ASSERT_NEAR(y[i + half], r1, 2e-6 * (std::fabs(x[i]) + std::fabs(x[i + half]))) << "pos=" << pos << " i=" << i;
  }
}

TEST(Ops, RopeRotateHalfMatchesDoubleFormula) {
  for (int64_t hd : {64, 128}) {
    RopeTable rope(hd, 1000000.0);
    for (int64_t pos : {0, 1, 2, 17, 511, 4095, 32767}) expect_rope_matches(hd, 1000000.0, pos, rope);
  }
}

TEST(Ops, RopeReservedTableGivesIdenticalValues) {
  RopeTable onthefly(128, 1000000.0), cached(128, 1000000.0);
  cached.reserve(600);
  for (int64_t pos : {0, 5, 599, 600, 1000}) {
    auto a = random_vector(3 * 128, 9);
    auto b = a;
    onthefly.apply_heads(a.data(), 3, pos);
    cached.apply_heads(b.data(), 3, pos);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << pos;
    expect_rope_matches(128, 1000000.0, pos, cached);
  }
}

TEST(Ops, RopePositionZeroIsIdentity) {
  RopeTable rope(64, 10000.0);
  const auto x = random_vector(64, 3);
  auto y = x;
  rope.apply(y.data(), 0);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace qembed
