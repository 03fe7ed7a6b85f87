#pragma once
// The loop shared by the matmuls over weights repacked by the CPU backend (int8): activations are converted once per
// call into tile-major records (in parallel over tiles of 8 tokens); the output is split across threads by groups
// of 16 rows, and each thread walks token blocks small enough that their converted activations stay in L2 while
// the group's weight records stream past.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/thread_pool.hpp"

namespace qembed::detail {

constexpr int kPackedTileTokens = 8;  //!< tokens per activation tile (and most per micro-kernel call)
constexpr int kPackedGroupRows = 16;  //!< output rows per weight group (one zmm of lanes)
constexpr int64_t kPackedTokenBlock = 64;

//! prepare(x_tile, mt, records): converts tokens [0, mt) of a tile (rows of x) into tile_bytes of records.
//! tile(g, records, mt, y, n_valid): writes y[t * n_out + r] for t < mt, r < n_valid of group g.
template <class Prepare, class Tile>
void run_packed_matmul(const float* x, int64_t n_in, int64_t n_tokens, int64_t n_out, int64_t tile_bytes, float* y,
                       ThreadPool* pool, Prepare prepare, Tile tile) {
  if (n_tokens <= 0 || n_out <= 0) return;
  constexpr int kT = kPackedTileTokens;
  const int64_t n_tiles = (n_tokens + kT - 1) / kT;
  const int64_t n_groups = (n_out + kPackedGroupRows - 1) / kPackedGroupRows;
  // Per calling thread (calls from different threads may overlap), reused across calls: no allocation per layer.
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < static_cast<size_t>(n_tiles * tile_bytes)) buf.resize(static_cast<size_t>(n_tiles * tile_bytes));
  uint8_t* act = buf.data();
  auto convert = [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      prepare(x + i * kT * n_in, static_cast<int>(std::min<int64_t>(kT, n_tokens - i * kT)), act + i * tile_bytes);
    }
  };
  auto compute = [&](int64_t g0, int64_t g1, int) {
    for (int64_t tb = 0; tb < n_tokens; tb += kPackedTokenBlock) {
      const int64_t te = std::min(n_tokens, tb + kPackedTokenBlock);
      for (int64_t g = g0; g < g1; ++g) {
        const int n_valid = static_cast<int>(std::min<int64_t>(kPackedGroupRows, n_out - g * kPackedGroupRows));
        for (int64_t t = tb; t < te; t += kT) {
          const int mt = static_cast<int>(std::min<int64_t>(kT, te - t));
          tile(g, act + (t / kT) * tile_bytes, mt, y + t * n_out + g * kPackedGroupRows, n_valid);
        }
      }
    }
  };
  if (pool == nullptr) {
    convert(0, n_tiles, 0);
    compute(0, n_groups, 0);
  } else {
    pool->parallel_for(n_tiles, convert);
    pool->parallel_for(n_groups, compute);
  }
}

}  // namespace qembed::detail
