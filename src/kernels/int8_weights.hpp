#pragma once
// Quantized weights repacked at load for int8 dot products (AVX-512 VNNI vpdpbusd; AVX2 vpmaddubsw + vpmaddwd).
//
// Every supported ggml type decodes exactly to  w = s * (u - z) + m  per sub-block of `blk` values, with u an
// unsigned 8-bit code, s and m floats per (row, sub-block) and z a per-type integer zero point:
//   Q8_0 u = q + 128, z = 128        Q4_0 u = nibble, z = 8        Q5_0 u = 5-bit code, z = 16
//   Q4_1 / Q5_1 / Q4_K / Q5_K: z = 0 and an offset m (block min)   Q6_K u = 6-bit code, z = 32, blk = 16
// The matmul then quantizes each activation sub-block to int8 (x ≈ dx * xq) and computes
//   sum_k w x ≈ s * dx * (sum_k u * xq - z * sum_k xq) + m * dx * sum_k xq
// with exact integer inner sums. The only approximation is the activation rounding (as llama.cpp does for the
// same types); the weights are used exactly as stored.
//
// Layout: rows in groups of 16 (one zmm of int32 lanes), the last group zero-padded. Record (group g, sub-block b)
// is contiguous and 64-byte aligned:
//   u     [blk/4][16 rows][4 codes]  — the operand order of vpdpbusd: lane r gets 4 consecutive codes of row r
//                                      (the AVX2 kernel reads each 64 bytes as two ymm of 8 rows)
//   s     [16] f32
//   m     [16] f32                   — only when has_offset
//
// 4-bit codes may be kept two per byte (`nibbles`): the 64-byte slices 2p and 2p+1 of u share the bytes
// [64p, 64p + 64), slice 2p in the low nibbles and 2p+1 in the high ones, so one load and a mask (or a shift and a
// mask) give the same operand as before. A record of 32 values then takes 256 + 64 + 64 bytes instead of 512 + 128:
// 0.75 bytes per weight for Q4_K / Q4_1 (0.625 for Q4_0) instead of 1.25, close to the file's 0.5625, which is what
// lets the 4-bit files users pick for small machines stay small in memory. Every kernel set (AVX2, AVX-512 VNNI)
// and the scalar oracle read this form; the CPU backend keeps every int8 copy in it.
//
// Q4_K in that form also keeps its scales as the file does (`k_scales`): s = d * sc and m = -dmin * mn with 6-bit
// integers sc, mn per sub-block and floats d, dmin per 256-value super-block. A record then holds sc[16] and mn[16]
// as bytes after the codes (256 + 32 + 32 padding bytes), and d[16], -dmin[16] of each (group, super-block) sit in
// a table after all records. The kernel multiplies them back in f32 — the same product the reference dequantizer
// forms, so the weights are still used exactly — and a Q4_K weight takes 0.66 bytes instead of 0.75.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "formats/ggml_types.hpp"
#include "kernels/aligned_buffer.hpp"
#include "kernels/weight_matrix.hpp"

namespace qembed {

struct Int8Weights {
  static constexpr int kGroupRows = 16;

  int64_t n_in = 0, n_out = 0;
  int blk = 32;             //!< values per sub-block (16 or 32)
  int zero_point = 0;       //!< z
  bool has_offset = false;  //!< records carry m
  int max_code = 255;       //!< largest code u: 255 (Q8_0), 63 (Q6_K), 31 (5-bit), 15 (4-bit); bounds AVX2 s16 sums
  bool nibbles = false;     //!< 4-bit codes two per byte (see above)
  bool k_scales = false;    //!< Q4_K with nibbles: 8-bit sc/mn in the records, d/-dmin per super-block (see above)
  static constexpr int kSuperBlocks = 8;  //!< sub-blocks of 32 per Q4_K super-block
  int64_t n_groups = 0;     //!< ceil(n_out / 16)
  int64_t n_blocks = 0;     //!< n_in / blk
  size_t record_bytes = 0;

  size_t offset(int64_t g, int64_t b) const {
    return (static_cast<size_t>(g) * static_cast<size_t>(n_blocks) + static_cast<size_t>(b)) * record_bytes;
  }
  const uint8_t* record(int64_t g, int64_t b) const { return storage_.data() + offset(g, b); }
  uint8_t* record(int64_t g, int64_t b) { return storage_.data() + offset(g, b); }
  //! Records, then (k_scales) the super-block scale table.
  size_t bytes() const { return records_bytes() + super_table_bytes(); }
  size_t records_bytes() const { return static_cast<size_t>(n_groups * n_blocks) * record_bytes; }
  size_t super_table_bytes() const {
    return k_scales ? static_cast<size_t>(n_groups * (n_blocks / kSuperBlocks)) * 2 * kGroupRows * sizeof(float) : 0;
  }
  //! k_scales: d[16] then -dmin[16] of group g's rows in super-block j.
  const float* super_scales(int64_t g, int64_t j) const {
    return reinterpret_cast<const float*>(storage_.data() + records_bytes()) +
           (static_cast<size_t>(g) * static_cast<size_t>(n_blocks / kSuperBlocks) + static_cast<size_t>(j)) * 2 *
               kGroupRows;
  }
  float* super_scales(int64_t g, int64_t j) {
    return const_cast<float*>(static_cast<const Int8Weights*>(this)->super_scales(g, j));
  }
  //! Bytes of a record's codes; the scales s (then m) follow them.
  size_t code_bytes() const { return static_cast<size_t>(blk * kGroupRows) / (nibbles ? 2 : 1); }
  //! Code u of value k (within the sub-block) of row r (within the group) in record `rec`.
  int code(const uint8_t* rec, int k, int r) const {
    const int slice = k / 4, pos = r * 4 + k % 4;
    if (!nibbles) return rec[slice * 4 * kGroupRows + pos];
    const uint8_t byte = rec[(slice / 2) * 4 * kGroupRows + pos];
    return slice % 2 == 0 ? byte & 15 : byte >> 4;
  }
  //! Stores code u (< 16 when nibbles) of value k of row r; the other nibble of a shared byte is kept.
  void set_code(uint8_t* rec, int k, int r, int u) const {
    const int slice = k / 4, pos = r * 4 + k % 4;
    if (!nibbles) {
      rec[slice * 4 * kGroupRows + pos] = static_cast<uint8_t>(u);
      return;
    }
    uint8_t& byte = rec[(slice / 2) * 4 * kGroupRows + pos];
    byte = slice % 2 == 0 ? static_cast<uint8_t>((byte & 0xf0) | u) : static_cast<uint8_t>((byte & 0x0f) | u << 4);
  }
  //! The float scales s[16] (then m[16]) after a record's codes; not with k_scales (see sub_block_scales).
  const float* scales(const uint8_t* rec) const { return reinterpret_cast<const float*>(rec + code_bytes()); }
  float* scales(uint8_t* rec) const { return reinterpret_cast<float*>(rec + code_bytes()); }
  //! k_scales: sc[16] then mn[16] after a record's codes.
  const uint8_t* k_sub_scales(const uint8_t* rec) const { return rec + code_bytes(); }
  uint8_t* k_sub_scales(uint8_t* rec) const { return rec + code_bytes(); }
  //! s and m of row r in record (g, b) as floats, in either form (m is 0 without an offset).
  void sub_block_scales(int64_t g, int64_t b, int r, float* s, float* m) const {
    const uint8_t* rec = record(g, b);
    if (k_scales) {
      const float* dd = super_scales(g, b / kSuperBlocks);
      *s = dd[r] * static_cast<float>(k_sub_scales(rec)[r]);
      *m = dd[kGroupRows + r] * static_cast<float>(k_sub_scales(rec)[kGroupRows + r]);
      return;
    }
    *s = scales(rec)[r];
    *m = has_offset ? scales(rec)[kGroupRows + r] : 0.0f;
  }

  //! Allocates (64-byte aligned, zero-filled) storage for the shape.
  void allocate() { storage_ = AlignedBuffer(bytes()); }

 private:
  AlignedBuffer storage_;
};

//! Whether pack_int8 supports this type (the quantized types; float types stay on the f32 path).
bool int8_packable(GgmlType type);
//! Repacks a quantized matrix (rows [o_begin, o_end) of group-aligned ranges may be packed concurrently by
//! calling pack_int8_rows on a shared, allocated Int8Weights).
//! `nibbles`: keep 4-bit codes two per byte (ignored for wider codes).
Int8Weights int8_layout_for(const WeightMatrix& w, bool nibbles = false);
void pack_int8_rows(const WeightMatrix& w, int64_t o_begin, int64_t o_end, Int8Weights& out);
//! Convenience: layout + allocate + pack every row.
std::unique_ptr<Int8Weights> pack_int8(const WeightMatrix& w, bool nibbles = false);

}  // namespace qembed
