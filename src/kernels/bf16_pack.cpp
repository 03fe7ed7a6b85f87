// Repacking of BF16 rows into the vdpbf16ps layout of bf16_weights.hpp (a pure reshuffle of 16-bit values).
#include <cstring>

#include "kernels/bf16_weights.hpp"

namespace qembed {

Bf16Weights bf16_layout_for(const WeightMatrix& w) {
  Bf16Weights p;
  p.n_in = w.n_in;
  p.n_out = w.n_out;
  p.n_pairs = (w.n_in + 1) / 2;
  p.n_groups = (w.n_out + Bf16Weights::kGroupRows - 1) / Bf16Weights::kGroupRows;
  return p;
}

void pack_bf16_rows(const WeightMatrix& w, int64_t o_begin, int64_t o_end, Bf16Weights& out) {
  constexpr int G = Bf16Weights::kGroupRows;
  for (int64_t o = o_begin; o < o_end; ++o) {
    const uint8_t* row = w.row(o);
    auto* dst = reinterpret_cast<uint16_t*>(out.group(o / G)) + (o % G) * 2;
    for (int64_t k = 0; k < w.n_in; ++k) {
      uint16_t v;
      std::memcpy(&v, row + 2 * k, 2);  // rows in a mapped file may be unaligned
      dst[(k / 2) * (2 * G) + (k % 2)] = v;
    }
  }
}

std::unique_ptr<Bf16Weights> pack_bf16(const WeightMatrix& w) {
  auto p = std::make_unique<Bf16Weights>(bf16_layout_for(w));
  p->allocate();
  pack_bf16_rows(w, 0, w.n_out, *p);
  return p;
}

}  // namespace qembed
