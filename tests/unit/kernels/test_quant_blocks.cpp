// Reference quant block codecs: decoding hand-built blocks by the formulas in docs (value by value), error of the
// quantizers on gaussian data, stability of re-quantization, and edge cases (zero, constant, one-signed, huge,
// tiny, non-finite blocks). Bit-exact agreement with llama.cpp is checked by tests/oracle/ggml_quant_crosscheck.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/fp16.hpp"
#include "kernels/quant_block_layouts.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {
namespace {

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                              GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
const GgmlType kBlockTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// Relative RMS error bound on N(0, 1) data. Measured (tests/oracle/ggml_quant_crosscheck, 256 rows of 1024):
// ours / ggml's reference quantizer = F16 0.00021 / 0.00021, BF16 0.00166 / 0.00166, Q8_0 0.00535 / 0.00536,
// Q4_0 0.0859 / 0.0859, Q4_1 0.0783 / 0.0783, Q5_0 0.0426 / 0.0426, Q5_1 0.0378 / 0.0378, Q4_K 0.0713 / 0.0714,
// Q5_K 0.0358 / 0.0361, Q6_K 0.0173 / 0.0177. Bounds are those plus about 10%.
double rms_bound(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return 0.0;
    case GgmlType::F16:
      return 0.00025;
    case GgmlType::BF16:
      return 0.0019;
    case GgmlType::Q8_0:
      return 0.0059;
    case GgmlType::Q4_0:
      return 0.095;
    case GgmlType::Q4_1:
      return 0.086;
    case GgmlType::Q5_0:
      return 0.047;
    case GgmlType::Q5_1:
      return 0.042;
    case GgmlType::Q4_K:
      return 0.079;
    case GgmlType::Q5_K:
      return 0.040;
    case GgmlType::Q6_K:
      return 0.019;
  }
  return 0.0;
}

int64_t block_values(GgmlType t) { return ggml_type_info(t).block_values; }

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  return x;
}

// Quantizes then dequantizes a row, checking that exactly ggml_row_bytes are written.
std::vector<float> round_trip(GgmlType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  const size_t bytes = ggml_row_bytes(type, n);
  std::vector<uint8_t> q(bytes + 16, 0xA5);
  quantize_row_ref(type, x.data(), q.data(), n);
  for (size_t i = bytes; i < q.size(); ++i) EXPECT_EQ(q[i], 0xA5) << "wrote past the row";
  std::vector<float> y(x.size());
  dequantize_row_ref(type, q.data(), y.data(), n);
  return y;
}

double rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    den += static_cast<double>(x[i]) * x[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

template <typename Block>
std::vector<float> decode(GgmlType type, const Block& b) {
  std::vector<float> y(sizeof(Block) == 0 ? 0 : static_cast<size_t>(block_values(type)));
  dequantize_row_ref(type, reinterpret_cast<const uint8_t*>(&b), y.data(), block_values(type));
  return y;
}

template <typename Block>
Block random_block(uint32_t seed) {
  std::mt19937 rng(seed);
  Block b;
  auto* p = reinterpret_cast<uint8_t*>(&b);
  for (size_t i = 0; i < sizeof(Block); ++i) p[i] = static_cast<uint8_t>(rng());
  return b;
}

TEST(QuantBlocks, BlockSizesMatchTypeTable) {
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q8_0, kQK), sizeof(BlockQ8_0));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_0, kQK), sizeof(BlockQ4_0));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_1, kQK), sizeof(BlockQ4_1));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_0, kQK), sizeof(BlockQ5_0));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_1, kQK), sizeof(BlockQ5_1));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_K, kQKK), sizeof(BlockQ4_K));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_K, kQKK), sizeof(BlockQ5_K));
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q6_K, kQKK), sizeof(BlockQ6_K));
}

// ---- decoding hand-built blocks, value by value, by the formulas in docs/qwen3-embedding.md ----

TEST(QuantBlocks, DecodesQ8_0) {
  BlockQ8_0 b{};
  b.d = f32_to_f16(0.5f);
  for (int j = 0; j < kQK; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  const auto y = decode(GgmlType::Q8_0, b);
  for (int j = 0; j < kQK; ++j) EXPECT_EQ(y[j], (j * 8 - 128) * 0.5f) << j;
}

TEST(QuantBlocks, DecodesQ4_0AndQ4_1) {
  BlockQ4_0 b0{};
  BlockQ4_1 b1{};
  b0.d = b1.d = f32_to_f16(2.0f);
  b1.m = f32_to_f16(-1.5f);
  for (int j = 0; j < 16; ++j) b0.qs[j] = b1.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y0 = decode(GgmlType::Q4_0, b0);
  const auto y1 = decode(GgmlType::Q4_1, b1);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y0[j], (j - 8) * 2.0f);
    EXPECT_EQ(y0[j + 16], (7 - j) * 2.0f);
    EXPECT_EQ(y1[j], j * 2.0f - 1.5f);
    EXPECT_EQ(y1[j + 16], (15 - j) * 2.0f - 1.5f);
  }
}

TEST(QuantBlocks, DecodesQ5_0AndQ5_1) {
  const uint32_t qh = 0xA5C3F00Fu;
  BlockQ5_0 b0{};
  BlockQ5_1 b1{};
  b0.d = b1.d = f32_to_f16(0.25f);
  b1.m = f32_to_f16(3.0f);
  for (int k = 0; k < 4; ++k) b0.qh[k] = b1.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  for (int j = 0; j < 16; ++j) b0.qs[j] = b1.qs[j] = static_cast<uint8_t>((j * 7 % 16) | ((j * 5 % 16) << 4));
  const auto y0 = decode(GgmlType::Q5_0, b0);
  const auto y1 = decode(GgmlType::Q5_1, b1);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j * 7 % 16) | static_cast<int>(((qh >> j) & 1) << 4);
    const int hi = (j * 5 % 16) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
    EXPECT_EQ(y0[j], (lo - 16) * 0.25f);
    EXPECT_EQ(y0[j + 16], (hi - 16) * 0.25f);
    EXPECT_EQ(y1[j], lo * 0.25f + 3.0f);
    EXPECT_EQ(y1[j + 16], hi * 0.25f + 3.0f);
  }
}

// 6-bit scale / min of sub-block j, written out from the doc's table.
void doc_scale_min(const uint8_t* q, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

TEST(QuantBlocks, DecodesQ4_KAndQ5_K) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    auto b4 = random_block<BlockQ4_K>(seed);
    auto b5 = random_block<BlockQ5_K>(seed + 100);
    b4.d = f32_to_f16(0.01f * seed);
    b4.dmin = f32_to_f16(0.003f * seed);
    b5.d = f32_to_f16(-0.02f * seed);
    b5.dmin = f32_to_f16(0.5f);
    const auto y4 = decode(GgmlType::Q4_K, b4);
    const auto y5 = decode(GgmlType::Q5_K, b5);
    for (int i = 0; i < kQKK; ++i) {
      const int c = i / 64, within = i % 64, l = within % 32, sub = 2 * c + within / 32;
      const bool high = within >= 32;
      int sc, m;
      doc_scale_min(b4.scales, sub, &sc, &m);
      const int q4 = high ? b4.qs[32 * c + l] >> 4 : b4.qs[32 * c + l] & 15;
      ASSERT_EQ(y4[i], f16_to_f32(b4.d) * sc * q4 - f16_to_f32(b4.dmin) * m) << seed << " " << i;
      doc_scale_min(b5.scales, sub, &sc, &m);
      const int q5 = (high ? b5.qs[32 * c + l] >> 4 : b5.qs[32 * c + l] & 15) + 16 * ((b5.qh[l] >> sub) & 1);
      ASSERT_EQ(y5[i], f16_to_f32(b5.d) * sc * q5 - f16_to_f32(b5.dmin) * m) << seed << " " << i;
    }
  }
}

TEST(QuantBlocks, DecodesQ6_K) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    auto b = random_block<BlockQ6_K>(seed);
    b.d = f32_to_f16(0.001f * seed);
    const auto y = decode(GgmlType::Q6_K, b);
    for (int i = 0; i < kQKK; ++i) {
      const int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
      const uint8_t ql = b.ql[64 * half + 32 * (quarter & 1) + l];
      const int low4 = quarter < 2 ? ql & 15 : ql >> 4;
      const int high2 = (b.qh[32 * half + l] >> (2 * quarter)) & 3;
      const int q = (low4 | (high2 << 4)) - 32;
      ASSERT_EQ(y[i], f16_to_f32(b.d) * b.scales[i / 16] * q) << seed << " " << i;
    }
  }
}

TEST(QuantBlocks, FloatTypesRoundTrip) {
  const auto x = gaussian(1000, 3);
  EXPECT_EQ(round_trip(GgmlType::F32, x), x);
  const auto y16 = round_trip(GgmlType::F16, x);
  const auto yb16 = round_trip(GgmlType::BF16, x);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y16[i], f16_to_f32(f32_to_f16(x[i])));
    EXPECT_EQ(yb16[i], bf16_to_f32(f32_to_bf16(x[i])));
  }
}

// ---- quantizer quality ----

TEST(QuantBlocks, GaussianErrorWithinBound) {
  const auto x = gaussian(64 * 1024, 42);
  for (GgmlType type : kAllTypes) {
    const double err = rel_rms(x, round_trip(type, x));
    EXPECT_LE(err, rms_bound(type)) << ggml_type_info(type).name;
    // Far below the bound would mean the data or the metric is broken, not a better quantizer.
    if (type != GgmlType::F32) {
      EXPECT_GE(err, rms_bound(type) * 0.7) << ggml_type_info(type).name;
    }
  }
}

TEST(QuantBlocks, ErrorScalesWithData) {
  // Same relative error for N(0, 1e-2) and N(0, 1e3): scales are relative, nothing is absolute.
  for (GgmlType type : kBlockTypes) {
    const double err_small = rel_rms(gaussian(8192, 5, 1e-2f), round_trip(type, gaussian(8192, 5, 1e-2f)));
    const double err_large = rel_rms(gaussian(8192, 5, 1e3f), round_trip(type, gaussian(8192, 5, 1e3f)));
    EXPECT_LE(err_small, rms_bound(type) * 1.1) << ggml_type_info(type).name;
    EXPECT_LE(err_large, rms_bound(type) * 1.1) << ggml_type_info(type).name;
  }
}

TEST(QuantBlocks, RequantizingIsStable) {
  const auto x = gaussian(16 * 1024, 9);
  for (GgmlType type : kAllTypes) {
    const auto y1 = round_trip(type, x);
    const auto y2 = round_trip(type, y1);
    int64_t changed = 0;
    for (size_t i = 0; i < y1.size(); ++i) changed += y1[i] != y2[i];
    // Values already on the grid stay on it. Measured: every type exact except Q6_K, whose per-sub-block
    // search sometimes lands on a neighbouring int8 scale (1.5% of values move, relative RMS 1.8e-3).
    if (type == GgmlType::Q6_K) {
      EXPECT_LE(rel_rms(y1, y2), 4e-3);
      EXPECT_LE(changed, static_cast<int64_t>(y1.size()) / 25);
    } else {
      EXPECT_EQ(changed, 0) << ggml_type_info(type).name;
    }
  }
}

TEST(QuantBlocks, BlocksAreIndependent) {
  // A row quantizes to the concatenation of its blocks quantized one at a time.
  for (GgmlType type : kBlockTypes) {
    const int64_t bv = block_values(type), n = bv * 5;
    const auto x = gaussian(n, 17);
    const size_t bb = ggml_row_bytes(type, bv);
    std::vector<uint8_t> whole(ggml_row_bytes(type, n)), one(bb);
    quantize_row_ref(type, x.data(), whole.data(), n);
    for (int64_t b = 0; b < 5; ++b) {
      quantize_row_ref(type, x.data() + b * bv, one.data(), bv);
      EXPECT_EQ(std::memcmp(one.data(), whole.data() + b * bb, bb), 0) << ggml_type_info(type).name << " " << b;
    }
  }
}

// ---- edge cases ----

TEST(QuantBlocks, ZeroBlocksDecodeToExactZeros) {
  for (GgmlType type : kAllTypes) {
    const std::vector<float> x(512, 0.0f);
    for (float v : round_trip(type, x)) ASSERT_EQ(v, 0.0f) << ggml_type_info(type).name;
  }
}

TEST(QuantBlocks, ConstantBlocks) {
  for (GgmlType type : kBlockTypes) {
    // Within 0.5%: at -0.001 the K-quant super-block scales are f16 subnormals, a few hundred ulps wide.
    for (float c : {0.75f, -3.25f, 1000.0f, -0.001f, 1.0f}) {
      const std::vector<float> x(512, c);
      for (float v : round_trip(type, x)) ASSERT_NEAR(v, c, std::fabs(c) * 5e-3) << ggml_type_info(type).name;
    }
  }
}

TEST(QuantBlocks, OneSignedBlocks) {
  auto neg = gaussian(4096, 21), pos = gaussian(4096, 22);
  for (float& v : neg) v = -std::fabs(v);
  for (float& v : pos) v = std::fabs(v) + 0.5f;
  for (GgmlType type : kBlockTypes) {
    EXPECT_LE(rel_rms(neg, round_trip(type, neg)), rms_bound(type)) << ggml_type_info(type).name;
    EXPECT_LE(rel_rms(pos, round_trip(type, pos)), rms_bound(type)) << ggml_type_info(type).name;
  }
}

TEST(QuantBlocks, OutOfRangeScalesSaturateToFiniteValues) {
  // Block scales are f16: values past about 65504 * code range cannot be represented; they saturate instead of
  // turning into inf or nan, and keep their sign.
  auto x = gaussian(1024, 31, 1e30f);
  for (GgmlType type : kBlockTypes) {
    const auto y = round_trip(type, x);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << ggml_type_info(type).name << " " << i;
      if (std::fabs(y[i]) > 1e4f) {
        ASSERT_EQ(std::signbit(y[i]), std::signbit(x[i])) << ggml_type_info(type).name;
      }
    }
  }
}

TEST(QuantBlocks, TinyValuesNeverWorseThanZeros) {
  // Scales of values around 1e-6 underflow f16; the result may lose everything but must not exceed zeros' error.
  const auto x = gaussian(4096, 41, 1e-6f);
  for (GgmlType type : kBlockTypes) {
    const auto y = round_trip(type, x);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << ggml_type_info(type).name;
    EXPECT_LE(rel_rms(x, y), 1.0 + 1e-9) << ggml_type_info(type).name;
  }
}

TEST(QuantBlocks, NonFiniteInputStaysInItsBlock) {
  // inf / nan garbage in one block must not crash or disturb the other blocks of the row.
  for (GgmlType type : kBlockTypes) {
    const int64_t bv = block_values(type);
    for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
      auto x = gaussian(bv * 3, 51);
      const auto clean = round_trip(type, x);
      x[static_cast<size_t>(bv + 3)] = bad;
      const auto y = round_trip(type, x);
      for (int64_t i = 0; i < bv; ++i) {
        ASSERT_EQ(y[i], clean[i]) << ggml_type_info(type).name;
        ASSERT_EQ(y[2 * bv + i], clean[2 * bv + i]) << ggml_type_info(type).name;
      }
    }
  }
}

}  // namespace
}  // namespace qembed
