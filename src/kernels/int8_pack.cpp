// Repacking of quantized rows into the int8 record layout of int8_weights.hpp. Runs once at load; scalar on purpose
// (it is a few hundred ms for a 0.6B model, spread over threads by the caller) and exact: every weight is
// s * (u - z) + m with the same float s and m the reference dequantizer multiplies by.
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/fp16.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/quant_block_layouts.hpp"
#include "kernels/quant_blocks_impl.hpp"

namespace qembed {

namespace {

using quant_detail::load_block;

// One row decoded into codes u[n_in] and per-sub-block s, m; for Q4_K also the integers sc, mn per sub-block and
// d, -dmin per super-block they came from (s = d * sc, m = -dmin * mn).
struct RowCodes {
  std::vector<uint8_t> u;
  std::vector<float> s, m;
  std::vector<uint8_t> sc, mn;
  std::vector<float> d, dmin_neg;
};

uint32_t load_qh32(const uint8_t* qh) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 | static_cast<uint32_t>(qh[2]) << 16 |
         static_cast<uint32_t>(qh[3]) << 24;
}

// Legacy 32-value blocks. kFifth: a fifth bit per value from qh; kOffset: an f16 min m after d.
template <typename Block, bool kNibbles, bool kFifth, bool kOffset>
void decode_legacy(const uint8_t* row, int64_t n_in, RowCodes& rc) {
  for (int64_t i = 0; i < n_in / kQK; ++i) {
    const auto b = load_block<Block>(row, i);
    rc.s[i] = f16_to_f32(b.d);
    uint8_t* u = &rc.u[i * kQK];
    if constexpr (!kNibbles) {
      for (int j = 0; j < kQK; ++j) u[j] = static_cast<uint8_t>(static_cast<int>(b.qs[j]) + 128);
    } else {
      uint32_t qh = 0;
      if constexpr (kFifth) qh = load_qh32(b.qh);
      for (int j = 0; j < kQK / 2; ++j) {
        int lo = b.qs[j] & 15, hi = b.qs[j] >> 4;
        if constexpr (kFifth) {
          lo |= static_cast<int>(((qh >> j) & 1u) << 4);
          hi |= static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
        }
        u[j] = static_cast<uint8_t>(lo);
        u[j + kQK / 2] = static_cast<uint8_t>(hi);
      }
    }
    if constexpr (kOffset) rc.m[i] = f16_to_f32(b.m);
  }
}

// Q4_K / Q5_K: 8 sub-blocks of 32 per super-block, s = d * sc, m = -dmin * min.
template <typename Block, bool kFifth>
void decode_k45(const uint8_t* row, int64_t n_in, RowCodes& rc) {
  for (int64_t i = 0; i < n_in / kQKK; ++i) {
    const auto b = load_block<Block>(row, i);
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    rc.d[i] = d;
    rc.dmin_neg[i] = -dmin;
    for (int c = 0; c < 4; ++c) {
      for (int half = 0; half < 2; ++half) {
        const int j = 2 * c + half;
        int sc, mn;
        k_scale_min(b.scales, j, &sc, &mn);
        rc.s[i * 8 + j] = d * static_cast<float>(sc);
        rc.m[i * 8 + j] = -(dmin * static_cast<float>(mn));
        rc.sc[i * 8 + j] = static_cast<uint8_t>(sc);
        rc.mn[i * 8 + j] = static_cast<uint8_t>(mn);
        uint8_t* u = &rc.u[i * kQKK + 32 * j];
        for (int l = 0; l < 32; ++l) {
          int v = half ? (b.qs[32 * c + l] >> 4) : (b.qs[32 * c + l] & 15);
          if constexpr (kFifth) v += (b.qh[l] >> j) & 1 ? 16 : 0;
          u[l] = static_cast<uint8_t>(v);
        }
      }
    }
  }
}

// Q6_K: 16 sub-blocks of 16, s = d * scale (signed), codes 0..63 with zero point 32.
void decode_q6_k(const uint8_t* row, int64_t n_in, RowCodes& rc) {
  for (int64_t i = 0; i < n_in / kQKK; ++i) {
    const auto b = load_block<BlockQ6_K>(row, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 16; ++j) rc.s[i * 16 + j] = d * static_cast<float>(b.scales[j]);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t* qh = b.qh + 32 * h;
      uint8_t* u = &rc.u[i * kQKK + 128 * h];
      for (int l = 0; l < 32; ++l) {
        u[l] = static_cast<uint8_t>((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4));
        u[l + 32] = static_cast<uint8_t>((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4));
        u[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        u[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
      }
    }
  }
}

void decode_row_codes(const WeightMatrix& w, int64_t o, RowCodes& rc) {
  const uint8_t* row = w.row(o);
  switch (w.type) {
    case GgmlType::Q8_0: return decode_legacy<BlockQ8_0, false, false, false>(row, w.n_in, rc);
    case GgmlType::Q4_0: return decode_legacy<BlockQ4_0, true, false, false>(row, w.n_in, rc);
    case GgmlType::Q4_1: return decode_legacy<BlockQ4_1, true, false, true>(row, w.n_in, rc);
    case GgmlType::Q5_0: return decode_legacy<BlockQ5_0, true, true, false>(row, w.n_in, rc);
    case GgmlType::Q5_1: return decode_legacy<BlockQ5_1, true, true, true>(row, w.n_in, rc);
    case GgmlType::Q4_K: return decode_k45<BlockQ4_K, false>(row, w.n_in, rc);
    case GgmlType::Q5_K: return decode_k45<BlockQ5_K, true>(row, w.n_in, rc);
    case GgmlType::Q6_K: return decode_q6_k(row, w.n_in, rc);
    default: break;
  }
  std::abort();  // int8_layout_for rejected every other type
}

}  // namespace

bool int8_packable(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return true;
    default: return false;
  }
}

Int8Weights int8_layout_for(const WeightMatrix& w, bool nibbles) {
  if (!int8_packable(w.type)) std::abort();  // callers check int8_packable first
  Int8Weights p;
  p.n_in = w.n_in;
  p.n_out = w.n_out;
  p.blk = w.type == GgmlType::Q6_K ? 16 : 32;
  switch (w.type) {
    case GgmlType::Q8_0: p.zero_point = 128; break;
    case GgmlType::Q4_0: p.zero_point = 8; break;
    case GgmlType::Q5_0: p.zero_point = 16; break;
    case GgmlType::Q6_K: p.zero_point = 32; break;
    default: p.has_offset = true; break;  // Q4_1, Q5_1, Q4_K, Q5_K
  }
  // The code ranges: q + 128 for Q8_0, 6-bit for Q6_K, 5-bit for Q5_*, nibbles for Q4_*.
  const bool five_bit = w.type == GgmlType::Q5_0 || w.type == GgmlType::Q5_1 || w.type == GgmlType::Q5_K;
  p.max_code = w.type == GgmlType::Q8_0 ? 255 : w.type == GgmlType::Q6_K ? 63 : five_bit ? 31 : 15;
  p.nibbles = nibbles && p.max_code == 15;
  p.k_scales = p.nibbles && w.type == GgmlType::Q4_K;
  p.n_groups = (w.n_out + Int8Weights::kGroupRows - 1) / Int8Weights::kGroupRows;
  p.n_blocks = w.n_in / p.blk;
  // k_scales: sc[16] + mn[16] bytes, padded to keep records 64-byte aligned.
  p.record_bytes = p.code_bytes() + (p.k_scales ? 64 : 64 + (p.has_offset ? 64 : 0));
  return p;
}

void pack_int8_rows(const WeightMatrix& w, int64_t o_begin, int64_t o_end, Int8Weights& out) {
  constexpr int G = Int8Weights::kGroupRows;
  RowCodes rc;
  rc.u.resize(static_cast<size_t>(w.n_in));
  rc.s.resize(static_cast<size_t>(out.n_blocks));
  rc.m.assign(static_cast<size_t>(out.n_blocks), 0.0f);
  rc.sc.resize(static_cast<size_t>(out.n_blocks));
  rc.mn.resize(static_cast<size_t>(out.n_blocks));
  rc.d.resize(static_cast<size_t>(out.n_blocks / Int8Weights::kSuperBlocks + 1));
  rc.dmin_neg.resize(rc.d.size());
  for (int64_t o = o_begin; o < o_end; ++o) {
    decode_row_codes(w, o, rc);
    const int64_t g = o / G;
    const int r = static_cast<int>(o % G);
    for (int64_t b = 0; b < out.n_blocks; ++b) {
      uint8_t* rec = out.record(g, b);
      const uint8_t* u = &rc.u[b * out.blk];
      for (int k = 0; k < out.blk; ++k) out.set_code(rec, k, r, u[k]);
      if (out.k_scales) {
        uint8_t* sub = out.k_sub_scales(rec);
        sub[r] = rc.sc[b];
        sub[G + r] = rc.mn[b];
        if (b % Int8Weights::kSuperBlocks == 0) {
          float* dd = out.super_scales(g, b / Int8Weights::kSuperBlocks);
          dd[r] = rc.d[b / Int8Weights::kSuperBlocks];
          dd[G + r] = rc.dmin_neg[b / Int8Weights::kSuperBlocks];
        }
        continue;
      }
      float* s = out.scales(rec);
      s[r] = rc.s[b];
      if (out.has_offset) s[G + r] = rc.m[b];
    }
  }
}

std::unique_ptr<Int8Weights> pack_int8(const WeightMatrix& w, bool nibbles) {
  auto p = std::make_unique<Int8Weights>(int8_layout_for(w, nibbles));
  p->allocate();
  pack_int8_rows(w, 0, w.n_out, *p);
  return p;
}

}  // namespace qembed
