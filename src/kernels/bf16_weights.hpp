#pragma once
// BF16 weights repacked at load for BF16 dot products (AVX-512 BF16 vdpbf16ps): rows in groups of 16, the last
// zero-padded; per group, for each pair of inputs (k, k+1): [16 rows][2 bf16] — one zmm, the operand order of
// vdpbf16ps (lane r: w[r][k], w[r][k+1]). An odd n_in is padded with a zero input. The values are the file's,
// bit for bit; the matmul rounds the activations to bf16 (round to nearest even), which is the accuracy trade
// of this path (docs/performance.md).
#include <cstdint>
#include <memory>

#include "kernels/aligned_buffer.hpp"
#include "kernels/weight_matrix.hpp"

namespace qembed {

struct Bf16Weights {
  static constexpr int kGroupRows = 16;
  int64_t n_in = 0, n_out = 0;
  int64_t n_pairs = 0;   //!< ceil(n_in / 2)
  int64_t n_groups = 0;  //!< ceil(n_out / 16)

  size_t group_bytes() const { return static_cast<size_t>(n_pairs) * kGroupRows * 4; }
  size_t bytes() const { return static_cast<size_t>(n_groups) * group_bytes(); }
  const uint8_t* group(int64_t g) const { return storage_.data() + static_cast<size_t>(g) * group_bytes(); }
  uint8_t* group(int64_t g) { return storage_.data() + static_cast<size_t>(g) * group_bytes(); }
  void allocate() { storage_ = AlignedBuffer(bytes()); }

 private:
  AlignedBuffer storage_;
};

//! Only BF16 weights take this path: F16 would lose 3 mantissa bits in bf16 (it stays on the f32 path).
inline bool bf16_packable(GgmlType type) { return type == GgmlType::BF16; }
Bf16Weights bf16_layout_for(const WeightMatrix& w);
//! Packs rows [o_begin, o_end) into an allocated layout (disjoint ranges may run concurrently).
void pack_bf16_rows(const WeightMatrix& w, int64_t o_begin, int64_t o_end, Bf16Weights& out);
std::unique_ptr<Bf16Weights> pack_bf16(const WeightMatrix& w);

}  // namespace qembed
