// Int8 matmul: the scalar oracle's kernels and the driver (packed_matmul_driver.hpp) for every kernel set.
#include "kernels/matmul_int8.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/matmul_int8_kernels.hpp"
#include "kernels/packed_matmul_driver.hpp"

namespace qembed {
namespace detail {
namespace {

constexpr int kT = kInt8TileTokens;

void quantize_tile_scalar(const float* x, int mt, int64_t n_in, int blk, int zero_point, uint8_t* records) {
  const int64_t rec_bytes = int8_act_record_bytes(blk);
  for (int64_t b = 0; b < n_in / blk; ++b) {
    uint8_t* rec = records + b * rec_bytes;
    std::memset(rec, 0, static_cast<size_t>(rec_bytes));
    auto* q = reinterpret_cast<int8_t*>(rec);
    auto* zsum = reinterpret_cast<int32_t*>(rec + int8_act_zsum_offset(blk));
    auto* d = reinterpret_cast<float*>(rec + int8_act_d_offset(blk));
    auto* dsum = reinterpret_cast<float*>(rec + int8_act_dsum_offset(blk));
    for (int t = 0; t < mt; ++t) {
      const float* xb = x + t * n_in + b * blk;
      float amax = 0.0f;
      for (int k = 0; k < blk; ++k) amax = std::max(amax, std::fabs(xb[k]));
      const float db = int8_scale(amax), id = int8_inverse(db);
      int32_t sum = 0;
      for (int k = 0; k < blk; ++k) {
        const int v = static_cast<int>(std::nearbyint(xb[k] * id));
        q[(k / 4) * (4 * kT) + t * 4 + k % 4] = static_cast<int8_t>(v);
        sum += v;
      }
      zsum[t] = -zero_point * sum;
      d[t] = db;
      dsum[t] = db * static_cast<float>(sum);
    }
  }
}

void tile_scalar(const Int8Weights& w, int64_t g, const uint8_t* act, int mt, float* y, int64_t ldy, int n_valid) {
  constexpr int G = Int8Weights::kGroupRows;
  const int64_t act_bytes = int8_act_record_bytes(w.blk);
  for (int t = 0; t < mt; ++t) {
    float acc[G] = {};
    for (int64_t b = 0; b < w.n_blocks; ++b) {
      const uint8_t* rec = w.record(g, b);
      const uint8_t* arec = act + b * act_bytes;
      const auto* q = reinterpret_cast<const int8_t*>(arec);
      const int32_t zsum = reinterpret_cast<const int32_t*>(arec + int8_act_zsum_offset(w.blk))[t];
      const float dx = reinterpret_cast<const float*>(arec + int8_act_d_offset(w.blk))[t];
      const float dsum = reinterpret_cast<const float*>(arec + int8_act_dsum_offset(w.blk))[t];
      for (int r = 0; r < G; ++r) {
        int32_t dot = zsum;
        for (int k = 0; k < w.blk; ++k) dot += w.code(rec, k, r) * q[(k / 4) * 4 * kT + t * 4 + k % 4];
        float s, m;
        w.sub_block_scales(g, b, r, &s, &m);
        acc[r] += static_cast<float>(dot) * (s * dx);
        if (w.has_offset) acc[r] += m * dsum;
      }
    }
    for (int r = 0; r < n_valid; ++r) y[t * ldy + r] = acc[r];
  }
}

void run(const Int8Kernels& kern, const Int8Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  const int64_t tile_bytes = w.n_blocks * int8_act_record_bytes(w.blk);
  run_packed_matmul(
      x, w.n_in, n_tokens, w.n_out, tile_bytes, y, pool,
      [&](const float* xt, int mt, uint8_t* rec) { kern.quantize_tile(xt, mt, w.n_in, w.blk, w.zero_point, rec); },
      [&](int64_t g, const uint8_t* act, int mt, float* yt, int n_valid) {
        kern.tile(w, g, act, mt, yt, w.n_out, n_valid);
      });
}

}  // namespace

const Int8Kernels& int8_kernels_scalar() {
  static const Int8Kernels k{quantize_tile_scalar, tile_scalar};
  return k;
}

}  // namespace detail

void matmul_int8_ref(const Int8Weights& w, const float* x, int64_t n_tokens, float* y) {
  detail::run(detail::int8_kernels_scalar(), w, x, n_tokens, y, nullptr);
}

void matmul_int8(const Int8Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, SimdLevel level) {
  level = simd_level_capped(level);
  const detail::Int8Kernels& kern = level >= SimdLevel::Avx512Vnni ? detail::int8_kernels_avx512vnni()
                                    : level >= SimdLevel::Avx2     ? detail::int8_kernels_avx2()
                                                                   : detail::int8_kernels_scalar();
  detail::run(kern, w, x, n_tokens, y, &pool);
}

}  // namespace qembed
