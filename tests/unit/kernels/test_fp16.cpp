// f16 / bf16 conversions: exhaustive over all halves, and against the F16C instructions on random floats.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/fp16.hpp"

namespace qembed {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The hardware conversions, compiled for F16C in this function only; callers check cpu support first.
__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

bool has_f16c() { return __builtin_cpu_supports("f16c"); }

bool is_half_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(Fp16, KnownValues) {
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);   // largest finite
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7bff);  // just below the rounding edge
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);   // tie rounds to even: inf
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);                        // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);                        // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);                        // tie to even zero
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);  // just above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);                        // 1.5 ulp: tie to even 2
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);                 // halfway 1 .. 1+ulp: even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);                 // halfway, odd below: up
  EXPECT_TRUE(is_half_nan(f32_to_f16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
}

TEST(Fp16, RoundTripsAllHalves) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    const float f = f16_to_f32(half);
    if (is_half_nan(half)) {
      ASSERT_TRUE(std::isnan(f)) << h;
      // Payload kept; the quiet bit is set on the way back, as F16C does.
      ASSERT_EQ(f32_to_f16(f), half | 0x0200) << h;
    } else {
      ASSERT_EQ(f32_to_f16(f), half) << h;
    }
  }
}

TEST(Fp16, HalfToFloatMatchesF16cForAllHalves) {
  if (!has_f16c()) GTEST_SKIP() << "CPU lacks F16C";
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    const float ours = f16_to_f32(half), hw = hw_f16_to_f32(half);
    if (is_half_nan(half)) {
      ASSERT_TRUE(std::isnan(ours) && std::isnan(hw)) << h;
    } else {
      ASSERT_EQ(bits_of(ours), bits_of(hw)) << h;
    }
  }
}

TEST(Fp16, FloatToHalfMatchesF16cOnRandomFloats) {
  if (!has_f16c()) GTEST_SKIP() << "CPU lacks F16C";
  std::mt19937 rng(7);
  // Random patterns over every exponent (incl. nan payloads and f32 subnormals), then values near the f16 range
  // where rounding edges are.
  for (int i = 0; i < 2000000; ++i) {
    const float f = float_of(static_cast<uint32_t>(rng()));
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << std::hex << bits_of(f);
  }
  std::uniform_int_distribution<uint32_t> near_half(0x33000000u - 4096, 0x47800000u + 4096);
  for (int i = 0; i < 2000000; ++i) {
    const float f = float_of(near_half(rng) | (rng() & 0x80000000u));
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << std::hex << bits_of(f);
  }
  // Every exact tie between two halves (the low 13 bits, or the subnormal remainder, exactly half an ulp).
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const double lo = f16_to_f32(static_cast<uint16_t>(h)), hi = f16_to_f32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);  // exact: halves have 11 significant bits
    ASSERT_EQ(f32_to_f16(mid), hw_f32_to_f16(mid)) << h;
    ASSERT_EQ(f32_to_f16(-mid), hw_f32_to_f16(-mid)) << h;
  }
}

TEST(Bf16, KnownValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(float_of(0x3f808000u)), 0x3f80);  // tie, even below: down
  EXPECT_EQ(f32_to_bf16(float_of(0x3f818000u)), 0x3f82);  // tie, odd below: up
  EXPECT_EQ(f32_to_bf16(float_of(0x3f808001u)), 0x3f81);  // above the tie: up
  EXPECT_EQ(f32_to_bf16(float_of(0x7f7fffffu)), 0x7f80);  // float max rounds to inf
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(float_of(0x00000001u)), 0x0000);  // subnormals round, not flush
  EXPECT_EQ(f32_to_bf16(float_of(0x00018000u)), 0x0002);
  // NaN stays NaN (quiet), sign and top payload kept; even a payload only in the low 16 bits.
  EXPECT_EQ(f32_to_bf16(float_of(0x7fc00000u)), 0x7fc0);
  EXPECT_EQ(f32_to_bf16(float_of(0xffc00000u)), 0xffc0);
  EXPECT_EQ(f32_to_bf16(float_of(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(f32_to_bf16(float_of(0x7fbfffffu)), 0x7fff);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

TEST(Bf16, RoundsToNearestEvenOnRandomFloats) {
  std::mt19937 rng(11);
  for (int i = 0; i < 2000000; ++i) {
    const uint32_t u = static_cast<uint32_t>(rng());
    const float f = float_of(u);
    const uint16_t b = f32_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(b))) << std::hex << u;
      continue;
    }
    // The answer is the truncation or the next value up in magnitude: whichever is nearer, even on a tie.
    const uint16_t down = static_cast<uint16_t>(u >> 16), up = static_cast<uint16_t>(down + 1);
    const uint32_t rem = u & 0xffffu;
    const uint16_t expected = (rem > 0x8000u || (rem == 0x8000u && (down & 1))) ? up : down;
    ASSERT_EQ(b, expected) << std::hex << u;
    ASSERT_EQ(bits_of(bf16_to_f32(b)), static_cast<uint32_t>(b) << 16);
  }
}

}  // namespace
}  // namespace qembed
