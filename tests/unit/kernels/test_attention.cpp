// attention_tiled at every SIMD level against attention_ref: chunks continuing earlier positions, GQA, head sizes,
// work split into (query range x head range) blocks, and a long key sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/cpu_features.hpp"

namespace qembed {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Case {
  AttentionShape shape;
  int64_t n_q, q_pos0;
  int64_t q_block, h_block;  // work split used for attention_tiled
};

// Outputs are convex combinations of values ~N(0,1): absolute error against the double reference.
double max_abs_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::isnan(e)) return INFINITY;
    worst = std::max(worst, e);
  }
  return worst;
}

void check_case(const Case& c, uint32_t seed) {
  const AttentionShape& s = c.shape;
  const int64_t n_kv = c.q_pos0 + c.n_q;
  // Scale 2 for q and k: sharp softmax distributions exercise the running-max rescaling.
  const auto q = random_vector(static_cast<size_t>(c.n_q * s.n_head * s.head_dim), seed, 2.0f);
  const auto k = random_vector(static_cast<size_t>(n_kv * s.n_head_kv * s.head_dim), seed + 1, 2.0f);
  const auto v = random_vector(static_cast<size_t>(n_kv * s.n_head_kv * s.head_dim), seed + 2, 1.0f);
  std::vector<float> ref(q.size());
  attention_ref(s, q.data(), c.n_q, c.q_pos0, k.data(), v.data(), n_kv, ref.data());
  for (SimdLevel level : simd_levels_available()) {
    ScopedSimdLevel scope(level);
    std::vector<float> out(q.size(), std::nanf(""));
    for (int64_t q0 = 0; q0 < c.n_q; q0 += c.q_block)
      for (int64_t h0 = 0; h0 < s.n_head; h0 += c.h_block)
        attention_tiled(s, q.data(), c.n_q, c.q_pos0, k.data(), v.data(), n_kv, out.data(), q0,
                        std::min(c.n_q, q0 + c.q_block), h0, std::min(s.n_head, h0 + c.h_block));
    // Float accumulation over n_kv keys: rounding grows like sqrt(n_kv).
    const double bound = 2e-5 * std::max(1.0, std::sqrt(n_kv / 256.0));
    EXPECT_LT(max_abs_error(out, ref), bound)
        << "level=" << simd_level_name(level) << " n_head=" << s.n_head << " n_head_kv=" << s.n_head_kv
        << " hd=" << s.head_dim << " n_q=" << c.n_q << " q_pos0=" << c.q_pos0;
  }
}

TEST(Attention, TiledMatchesReference) {
  uint32_t seed = 1;
  for (int64_t hd : {64, 128}) {
    for (int64_t ratio : {1, 2}) {
      const AttentionShape s{4, 4 / ratio, hd};
      check_case({s, 1, 0, 1, 4}, seed += 3);      // one token
      check_case({s, 7, 0, 3, 1}, seed += 3);      // short, split into odd blocks
      check_case({s, 65, 0, 64, 3}, seed += 3);    // crosses one key tile
      check_case({s, 300, 0, 37, 2}, seed += 3);   // several key tiles
      check_case({s, 40, 130, 16, 4}, seed += 3);  // a chunk continuing positions 0..129
      check_case({s, 3, 257, 3, 4}, seed += 3);    // a few queries at the end of a longer sequence
    }
  }
}

TEST(Attention, OtherHeadDimensions) {
  check_case({{2, 2, 256}, 70, 3, 30, 1}, 97);
  check_case({{2, 1, 40}, 70, 5, 70, 2}, 99);
  check_case({{3, 3, 24}, 9, 0, 4, 1}, 98);
}

TEST(Attention, QueryBlocks) {
  // The AVX-512 path attends kAttentionQueryBlock (32) queries per block against 32-key tiles: full and partial
  // blocks (1..16 and 17..31 queries), blocks straddling key tiles, several blocks per call, unaligned q_pos0.
  uint32_t seed = 200;
  for (int64_t hd : {128, 64, 40}) {
    const AttentionShape s{4, 2, hd};
    check_case({s, 96, 0, 32, 1}, seed += 3);
    check_case({s, 100, 0, 100, 4}, seed += 3);
    check_case({s, 61, 0, 29, 2}, seed += 3);
    check_case({s, 77, 45, 33, 1}, seed += 3);
    check_case({s, 16, 31, 16, 4}, seed += 3);
    check_case({s, 17, 1, 17, 4}, seed += 3);
  }
  check_case({{2, 1, 256}, 50, 20, 32, 2}, 301);
}

TEST(Attention, LaneGroups) {
  // The AVX2 blocked path puts 8 queries in a ymm and picks 1, 2 or 4 lane groups by the block's query count: counts
  // on both sides of 8, 16 and 32, blocks shorter than a key tile, and positions offset by a cached prefix (q_pos0 > 0,
  // unaligned to 8 and 32).
  uint32_t seed = 400;
  for (int64_t hd : {128, 40}) {
    const AttentionShape s{2, 1, hd};
    for (int64_t n_q : {2, 8, 9, 15, 16, 23, 24, 25, 31, 32}) {
      check_case({s, n_q, 0, n_q, 2}, seed += 3);
      check_case({s, n_q, 5, 32, 1}, seed += 3);
      check_case({s, n_q, 37, 32, 2}, seed += 3);
    }
    check_case({s, 70, 64, 9, 1}, seed += 3);   // 9-query items: 8 + 1 lanes, continuing 64 cached positions
    check_case({s, 41, 100, 12, 2}, seed += 3); // 12-query items straddling 32-key tiles
  }
  // head_dim padded in the scratch (20 -> 32, not a multiple of 8), and one above the blocked kernels' limit.
  check_case({{2, 1, 20}, 45, 6, 32, 2}, 501);
  check_case({{2, 1, 264}, 20, 11, 20, 1}, 502);
}

TEST(Attention, LongSequenceManyQueries) {
  // Full causal over 1024 tokens in engine-like 32-query items.
  const AttentionShape s{2, 1, 128};
  check_case({s, 1024, 0, 32, 1}, 11);
}

TEST(Attention, LongSequenceFewQueries) {
  // n_kv = 4096: the tiled path keeps only a key tile of scores, so this is cheap in memory.
  const AttentionShape s{2, 1, 128};
  check_case({s, 4, 4092, 4, 2}, 7);
}

TEST(Attention, ErrorBoundCanFail) {
  const auto a = random_vector(100, 1, 1.0f);
  auto b = a;
  b[17] += 1e-4f;
  EXPECT_GT(max_abs_error(a, b), 2e-5);
}

}  // namespace
}  // namespace qembed
