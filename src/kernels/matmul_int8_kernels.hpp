#pragma once
// Internal interface between the int8 matmul driver (matmul_int8.cpp) and its kernels (scalar oracle there,
// AVX-512 VNNI in matmul_int8_avx512vnni.cpp, AVX2 in matmul_int8_avx2.cpp). Every set computes the same exact
// integer sums over the same records, so they differ from each other only in float rounding.
#include <cstdint>

#include "kernels/int8_weights.hpp"
#include "kernels/packed_matmul_driver.hpp"

namespace qembed::detail {

//! Tokens per activation tile: the int8 activations are stored tile-major so a kernel reads one stream.
constexpr int kInt8TileTokens = kPackedTileTokens;

//! Activations quantized per sub-block of w.blk values: x[t][k] ≈ d[t][b] * q[t][k] for k in sub-block b.
//! Storage: for each tile of 8 tokens and sub-block b, one record
//!   q    [blk/4][8 tokens][4 codes]  int8 — 4 codes of a token broadcast as one int32 against 16 rows
//!   zsum [8] int32                   — -z * sum q, the zero-point correction (exact)
//!   d    [8] f32
//!   dsum [8] f32                     — d * sum q, for the offset term m
//! Tokens past the end of the last tile are zeros.
//! Byte offsets of a record's zsum, d and dsum, and its size (every kernel reads and writes records through these).
constexpr int64_t int8_act_zsum_offset(int blk) { return int64_t{blk} * kInt8TileTokens; }
constexpr int64_t int8_act_d_offset(int blk) { return int8_act_zsum_offset(blk) + 4 * kInt8TileTokens; }
constexpr int64_t int8_act_dsum_offset(int blk) { return int8_act_d_offset(blk) + 4 * kInt8TileTokens; }
constexpr int64_t int8_act_record_bytes(int blk) { return int8_act_dsum_offset(blk) + 4 * kInt8TileTokens; }

struct Int8Kernels {
  //! Quantizes tokens x[0..mt) (rows of n_in values, mt <= 8) into the n_in / blk records of one tile.
  void (*quantize_tile)(const float* x, int mt, int64_t n_in, int blk, int zero_point, uint8_t* records);
  //! y[t*ldy + r] for tokens t < mt of the tile whose records start at `act`, and rows r < n_valid of group g.
  void (*tile)(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid);
};

const Int8Kernels& int8_kernels_scalar();
const Int8Kernels& int8_kernels_avx2();
const Int8Kernels& int8_kernels_avx512vnni();

//! Shared by every quantize_tile: the scale of a sub-block with largest magnitude amax, and its inverse (0 for an
//! all-zero sub-block, so every code is 0). Both paths use these exact float operations, so codes match bit for bit.
inline float int8_scale(float amax) { return amax / 127.0f; }
inline float int8_inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

}  // namespace qembed::detail
