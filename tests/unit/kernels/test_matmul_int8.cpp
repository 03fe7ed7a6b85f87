// The int8 path: repacking is exact, every kernel set this CPU has (AVX2, AVX-512 VNNI) matches the scalar int8
// oracle on odd shapes and thread counts — bit for bit where the float arithmetic is exact, so the integer sums are
// exact —, the activation quantizers write the oracle's records byte for byte, the oracle stays within the
// activation-rounding bound of the f32 reference, and matmul() picks the int8 path only at avx2 and above, and only
// with the packed copy its caller passes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/matmul_int8_kernels.hpp"
#include "kernels/quant_blocks.hpp"
#include "matmul_test_support.hpp"

namespace qembed {
namespace {

using namespace qembed::test;

// The levels of this CPU that take the int8 path: avx2 and avx512 run the AVX2 kernels, avx512vnni the VNNI ones.
std::vector<SimdLevel> int8_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : simd_levels_available())
    if (int8_path_at(l)) out.push_back(l);
  return out;
}

// The kernel sets this CPU can run, the scalar oracle's first.
std::vector<std::pair<std::string, const detail::Int8Kernels*>> kernel_sets() {
  std::vector<std::pair<std::string, const detail::Int8Kernels*>> out{{"scalar", &detail::int8_kernels_scalar()}};
  if (simd_level_hardware() >= SimdLevel::Avx2) out.emplace_back("avx2", &detail::int8_kernels_avx2());
  if (simd_level_hardware() >= SimdLevel::Avx512Vnni)
    out.emplace_back("avx512vnni", &detail::int8_kernels_avx512vnni());
  return out;
}

// Weight (o, k) as the packed record says: s * (u - z) + m.
float packed_value(const Int8Weights& p, int64_t o, int64_t k) {
  constexpr int G = Int8Weights::kGroupRows;
  const uint8_t* rec = p.record(o / G, k / p.blk);
  const int r = static_cast<int>(o % G), kk = static_cast<int>(k % p.blk);
  const int u = p.code(rec, kk, r);
  float sc, m;
  p.sub_block_scales(o / G, k / p.blk, r, &sc, &m);
  return sc * static_cast<float>(u - p.zero_point) + m;
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

// `nibbles`: the copy keeps 4-bit codes two per byte (the CPU backend's form at every int8 level).
void check_type(GgmlType type, const std::vector<int64_t>& n_ins, bool nibbles = false) {
  const std::vector<int64_t> n_tokens_list{1, 2, 3, 7, 8, 9, 17, 64, 65, 130};
  const std::vector<int64_t> n_outs{1, 3, 17, 33, 100};
  ThreadPool pool1(1), pool2(2), pool3(3);
  uint32_t seed = 100;
  for (int64_t n_in : n_ins) {
    for (int64_t n_out : n_outs) {
      OwnedWeights ow = make_weights(type, n_out, n_in, seed++);
      const auto packed = pack_int8(ow.w, nibbles);
      ASSERT_EQ(packed->nibbles, nibbles);
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
        for (SimdLevel level : int8_levels()) {
          ScopedSimdLevel guard(level);
          for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
            std::vector<float> y(ref.size(), std::nanf(""));
            matmul(ow.w, packed.get(), x.data(), n_tokens, y.data(), *pool);
            ASSERT_LT(max_rel_error(y, oracle, scale), 1e-6)
                << ggml_type_info(type).name << " " << simd_level_name(level) << " threads=" << pool->size()
                << " T=" << n_tokens << " n_in=" << n_in << " n_out=" << n_out;
          }
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
TEST(MatmulInt8, Q4_0Nibbles) { check_type(GgmlType::Q4_0, {32, 288}, true); }
TEST(MatmulInt8, Q4_1Nibbles) { check_type(GgmlType::Q4_1, {32, 288}, true); }
TEST(MatmulInt8, Q4_KNibbles) { check_type(GgmlType::Q4_K, {256, 768}, true); }

// Two codes a byte only where codes have 4 bits, and the records shrink accordingly.
TEST(MatmulInt8, NibblesOnlyFor4BitCodes) {
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q5_K, GgmlType::Q6_K}) {
    WeightMatrix shape;
    shape.type = t, shape.n_in = 256, shape.n_out = 32;
    EXPECT_FALSE(int8_layout_for(shape, true).nibbles) << ggml_type_info(t).name;
  }
  WeightMatrix q4k;
  q4k.type = GgmlType::Q4_K, q4k.n_in = 256, q4k.n_out = 32;
  const Int8Weights bytes = int8_layout_for(q4k, false), nibbles = int8_layout_for(q4k, true);
  EXPECT_TRUE(nibbles.nibbles);
  EXPECT_EQ(bytes.record_bytes, 512u + 128u);
  EXPECT_TRUE(nibbles.k_scales);
  EXPECT_EQ(nibbles.record_bytes, 256u + 64u);  // codes, then sc and mn as bytes
  EXPECT_EQ(nibbles.bytes(), 2u * 8u * 320u + 2u * 1u * 128u);  // + d and -dmin per (group, super-block)
  EXPECT_EQ(nibbles.record_bytes % 64, 0u) << "records stay 64-byte aligned";
  WeightMatrix q4_1;
  q4_1.type = GgmlType::Q4_1, q4_1.n_in = 256, q4_1.n_out = 32;
  EXPECT_FALSE(int8_layout_for(q4_1, true).k_scales) << "only Q4_K has integer sub-block scales";
  EXPECT_EQ(int8_layout_for(q4_1, true).record_bytes, 256u + 128u);
}

// An int8 copy of `type`'s layout with chosen codes: u uniform in [0, max_code] with both extremes (0 and max_code;
// for Q8_0 the codes -128 and +127) in every sub-block of every row, s = 1 and m = +-1, so that with integer
// activations whose sub-block maximum is 127 (scale d = 1) every product and partial sum is an integer below 2^24:
// the float arithmetic of every kernel is then exact, and any difference from the exact sum is an integer error.
std::unique_ptr<Int8Weights> exact_weights(GgmlType type, int64_t n_out, int64_t n_in, std::mt19937& rng,
                                           bool nibbles) {
  constexpr int G = Int8Weights::kGroupRows;
  WeightMatrix shape;
  shape.type = type;
  shape.n_in = n_in;
  shape.n_out = n_out;
  auto p = std::make_unique<Int8Weights>(int8_layout_for(shape, nibbles));
  p->allocate();
  std::uniform_int_distribution<int> code(0, p->max_code);
  for (int64_t o = 0; o < n_out; ++o) {
    for (int64_t b = 0; b < p->n_blocks; ++b) {
      uint8_t* rec = p->record(o / G, b);
      const int r = static_cast<int>(o % G);
      for (int k = 0; k < p->blk; ++k) {
        const int u = k == static_cast<int>(b % p->blk)         ? 0
                      : k == static_cast<int>((b + 5) % p->blk) ? p->max_code
                                                                : code(rng);
        p->set_code(rec, k, r, u);
      }
      const float offset = rng() % 2 ? 1.0f : -1.0f;
      if (p->k_scales) {
        // s = d * sc = 1 and m = (-dmin) * mn = +-1, the sign drawn per super-block, the integers per sub-block.
        float* dd = p->super_scales(o / G, b / Int8Weights::kSuperBlocks);
        dd[r] = 1.0f;
        if (b % Int8Weights::kSuperBlocks == 0) dd[G + r] = offset;
        p->k_sub_scales(rec)[r] = 1;
        p->k_sub_scales(rec)[G + r] = 1;
        continue;
      }
      float* s = p->scales(rec);
      s[r] = 1.0f;
      if (p->has_offset) s[G + r] = offset;
    }
  }
  return p;
}

// Integer activations whose sub-blocks are each: all zero, ending on +127, ending on -127 (so the scale is exactly 1
// and the extreme codes +-127 occur), or +-127 everywhere (the largest sums); token 1 is all zero.
std::vector<float> exact_activations(int64_t n_tokens, int64_t n_in, int blk, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(-127, 127);
  std::vector<float> x(static_cast<size_t>(n_tokens * n_in), 0.0f);
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (t == 1) continue;
    for (int64_t b = 0; b < n_in / blk; ++b) {
      float* xb = &x[static_cast<size_t>(t * n_in + b * blk)];
      const unsigned kind = rng() % 4;
      if (kind == 0) continue;
      for (int k = 0; k < blk; ++k) {
        xb[k] = static_cast<float>(kind == 3 ? (rng() % 2 ? 127 : -127) : value(rng));
      }
      if (kind == 1) xb[rng() % blk] = 127.0f;
      if (kind == 2) xb[rng() % blk] = -127.0f;
    }
  }
  return x;
}

// y = sum_k s (u - z) x + m sum x, exactly (int64), from the records.
std::vector<float> exact_products(const Int8Weights& p, const std::vector<float>& x, int64_t n_tokens) {
  constexpr int G = Int8Weights::kGroupRows;
  std::vector<float> y(static_cast<size_t>(n_tokens * p.n_out));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t o = 0; o < p.n_out; ++o) {
      int64_t acc = 0;
      for (int64_t b = 0; b < p.n_blocks; ++b) {
        const uint8_t* rec = p.record(o / G, b);
        const int r = static_cast<int>(o % G);
        float sc, m;
        p.sub_block_scales(o / G, b, r, &sc, &m);
        int64_t dot = 0, xsum = 0;
        for (int k = 0; k < p.blk; ++k) {
          const auto xv = static_cast<int64_t>(x[static_cast<size_t>(t * p.n_in + b * p.blk + k)]);
          dot += (p.code(rec, k, r) - p.zero_point) * xv;
          xsum += xv;
        }
        acc += static_cast<int64_t>(sc) * dot + static_cast<int64_t>(m) * xsum;
      }
      EXPECT_LT(std::abs(acc), int64_t{1} << 24) << "the test's sums must stay exact in float";
      y[static_cast<size_t>(t * p.n_out + o)] = static_cast<float>(acc);
    }
  }
  return y;
}

// (type, nibbles): 4-bit types are checked in both record forms.
class MatmulInt8Exact : public ::testing::TestWithParam<std::tuple<GgmlType, bool>> {};

// Bit-identical results at every int8 level: the integer sums of every kernel set are the oracle's, on group tails
// (rows not a multiple of 16), token tails (not a multiple of 8 or of the AVX2 kernel's pairs) and one token.
TEST_P(MatmulInt8Exact, IntegerSumsMatchTheOracleBitForBit) {
  const auto [type, nibbles] = GetParam();
  const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q5_K || type == GgmlType::Q6_K;
  const std::vector<int64_t> n_ins = k_quant ? std::vector<int64_t>{256, 512} : std::vector<int64_t>{32, 96, 256};
  std::mt19937 rng(static_cast<uint32_t>(type) + 1);
  ThreadPool pool(2);
  for (int64_t n_in : n_ins) {
    for (int64_t n_out : {1, 5, 16, 17, 40}) {
      const auto p = exact_weights(type, n_out, n_in, rng, nibbles);
      for (int64_t n_tokens : {1, 2, 3, 7, 8, 9, 13, 16, 33}) {
        const auto x = exact_activations(n_tokens, n_in, p->blk, rng);
        const std::vector<float> exact = exact_products(*p, x, n_tokens);
        std::vector<float> oracle(exact.size(), std::nanf(""));
        matmul_int8_ref(*p, x.data(), n_tokens, oracle.data());
        ASSERT_EQ(oracle, exact) << ggml_type_info(type).name << " T=" << n_tokens << " n_in=" << n_in
                                 << " n_out=" << n_out;
        for (SimdLevel level : int8_levels()) {
          std::vector<float> y(exact.size(), std::nanf(""));
          matmul_int8(*p, x.data(), n_tokens, y.data(), pool, level);
          ASSERT_EQ(y, exact) << ggml_type_info(type).name << " " << simd_level_name(level) << " T=" << n_tokens
                              << " n_in=" << n_in << " n_out=" << n_out;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatmulInt8Exact,
                         ::testing::Values(std::tuple{GgmlType::Q8_0, false}, std::tuple{GgmlType::Q4_0, false},
                                           std::tuple{GgmlType::Q4_1, false}, std::tuple{GgmlType::Q5_0, false},
                                           std::tuple{GgmlType::Q5_1, false}, std::tuple{GgmlType::Q4_K, false},
                                           std::tuple{GgmlType::Q5_K, false}, std::tuple{GgmlType::Q6_K, false},
                                           std::tuple{GgmlType::Q4_0, true}, std::tuple{GgmlType::Q4_1, true},
                                           std::tuple{GgmlType::Q4_K, true}),
                         [](const ::testing::TestParamInfo<std::tuple<GgmlType, bool>>& info) {
                           return std::string(ggml_type_info(std::get<0>(info.param)).name) +
                                  (std::get<1>(info.param) ? "Nibbles" : "");
                         });

// Every quantizer writes the oracle's records byte for byte (codes, -z * sum, d, d * sum; zeros past the last
// token): random values, ties at half a step (round to nearest even), zero sub-blocks, one nonzero value, tiny values.
TEST(MatmulInt8, QuantizersWriteTheOraclesRecords) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int blk : {16, 32}) {
    const int64_t n_in = 6 * blk;
    std::vector<float> x(static_cast<size_t>(detail::kInt8TileTokens * n_in));
    for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
      const int64_t b = (i % n_in) / blk, k = i % blk;
      switch (b) {
        case 0:
          x[i] = normal(rng);
          break;
        case 1:
          x[i] = k == 0 ? 127.0f : static_cast<float>(static_cast<int>(rng() % 254) - 127) + 0.5f;
          break;
        case 2:
          x[i] = 0.0f;
          break;
        case 3:
          x[i] = k == 3 ? -2.5f : 0.0f;
          break;
        case 4:
          x[i] = normal(rng) * 1e-30f;
          break;
        default:
          x[i] = k == 0 ? -127.0f : normal(rng) * 40.0f;
          break;
      }
    }
    const int64_t bytes = (n_in / blk) * detail::int8_act_record_bytes(blk);
    for (int zero_point : {0, 8, 32, 128}) {
      for (int mt = 1; mt <= detail::kInt8TileTokens; ++mt) {
        std::vector<uint8_t> want(static_cast<size_t>(bytes), 0xab);
        detail::int8_kernels_scalar().quantize_tile(x.data(), mt, n_in, blk, zero_point, want.data());
        for (const auto& [name, kern] : kernel_sets()) {
          std::vector<uint8_t> got(static_cast<size_t>(bytes), 0xcd);
          kern->quantize_tile(x.data(), mt, n_in, blk, zero_point, got.data());
          EXPECT_EQ(got, want) << name << " blk=" << blk << " z=" << zero_point << " mt=" << mt;
        }
      }
    }
  }
}

TEST(MatmulInt8, FloatTypesAreNotPacked) {
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) EXPECT_FALSE(int8_packable(t));
}

// Below avx2 the packed copy is ignored: the result is the f32 path's (within f32 rounding of matmul_ref), which
// the activation rounding of the int8 path would exceed.
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
    if (int8_path_at(level)) {
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
