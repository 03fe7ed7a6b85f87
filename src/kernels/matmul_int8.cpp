// Int8 matmul driver and its scalar oracle. Activations are quantized once per call (in parallel over tokens);
// the output is split across threads by groups of 16 rows, and each thread walks token blocks small enough that
// their int8 activations stay in L2 while the group's records stream past.
#include "kernels/matmul_int8.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/matmul_int8_kernels.hpp"

namespace qembed {
namespace detail {
namespace {

void quantize_row_scalar(const float* x, int64_t n_in, int blk, int zero_point, int8_t* q, float* d, int32_t* zsum,
                         float* dsum) {
  for (int64_t b = 0; b < n_in / blk; ++b) {
    const float* xb = x + b * blk;
    float amax = 0.0f;
    for (int k = 0; k < blk; ++k) amax = std::max(amax, std::fabs(xb[k]));
    const float db = int8_scale(amax), id = int8_inverse(db);
    int32_t sum = 0;
    for (int k = 0; k < blk; ++k) {
      const int v = static_cast<int>(std::nearbyint(xb[k] * id));
      q[b * blk + k] = static_cast<int8_t>(v);
      sum += v;
    }
    d[b] = db;
    zsum[b] = -zero_point * sum;
    dsum[b] = db * static_cast<float>(sum);
  }
}

constexpr int kScalarMr = 4;

void tile_scalar(const Int8Weights& w, int64_t g, const Int8ActivationsView& a, int64_t t0, int mt, float* y,
                 int64_t ldy, int n_valid) {
  constexpr int G = Int8Weights::kGroupRows;
  for (int t = 0; t < mt; ++t) {
    const int64_t tok = t0 + t;
    float acc[G] = {};
    for (int64_t b = 0; b < w.n_blocks; ++b) {
      const uint8_t* rec = w.record(g, b);
      const int8_t* xq = a.q + tok * a.n_in + b * w.blk;
      const float* s = reinterpret_cast<const float*>(rec + w.blk * G);
      const float dx = a.d[tok * a.n_blocks + b];
      for (int r = 0; r < G; ++r) {
        int32_t dot = a.zsum[tok * a.n_blocks + b];
        for (int k = 0; k < w.blk; ++k) dot += static_cast<int32_t>(rec[(k / 4) * (4 * G) + r * 4 + (k % 4)]) * xq[k];
        acc[r] += static_cast<float>(dot) * (s[r] * dx);
        if (w.has_offset) acc[r] += s[G + r] * a.dsum[tok * a.n_blocks + b];
      }
    }
    for (int r = 0; r < n_valid; ++r) y[t * ldy + r] = acc[r];
  }
}

// Tokens per block: 64 tokens of int8 activations (<= 64 x 3072 bytes for the 0.6B FFN) stay in L2.
constexpr int64_t kTokenBlock = 64;

struct ActivationBuffers {
  std::vector<int8_t> q;
  std::vector<float> d, dsum;
  std::vector<int32_t> zsum;
};

void run(const Int8Kernels& kern, const Int8Weights& w, const float* x, int64_t n_tokens, float* y,
         ThreadPool* pool) {
  if (n_tokens <= 0 || w.n_out <= 0) return;
  const int64_t n_in = w.n_in, nb = w.n_blocks, n_out = w.n_out;
  // Per calling thread (calls from different threads may overlap), reused across calls: no allocation per layer.
  thread_local ActivationBuffers buf;
  const auto need = static_cast<size_t>(n_tokens);
  if (buf.q.size() < need * static_cast<size_t>(n_in)) buf.q.resize(need * static_cast<size_t>(n_in));
  if (buf.d.size() < need * static_cast<size_t>(nb)) {
    buf.d.resize(need * static_cast<size_t>(nb));
    buf.dsum.resize(need * static_cast<size_t>(nb));
    buf.zsum.resize(need * static_cast<size_t>(nb));
  }
  ActivationBuffers& b = buf;
  auto quantize = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      kern.quantize_row(x + t * n_in, n_in, w.blk, w.zero_point, &b.q[t * n_in], &b.d[t * nb], &b.zsum[t * nb],
                        &b.dsum[t * nb]);
    }
  };
  const Int8ActivationsView a{b.q.data(), b.d.data(), b.zsum.data(), b.dsum.data(), n_in, nb};
  auto compute = [&](int64_t g0, int64_t g1, int) {
    for (int64_t tb = 0; tb < n_tokens; tb += kTokenBlock) {
      const int64_t te = std::min(n_tokens, tb + kTokenBlock);
      for (int64_t g = g0; g < g1; ++g) {
        const int n_valid = static_cast<int>(std::min<int64_t>(Int8Weights::kGroupRows, n_out - g * 16));
        for (int64_t t = tb; t < te; t += kern.mr) {
          const int mt = static_cast<int>(std::min<int64_t>(kern.mr, te - t));
          kern.tile(w, g, a, t, mt, y + t * n_out + g * Int8Weights::kGroupRows, n_out, n_valid);
        }
      }
    }
  };
  if (pool == nullptr) {
    quantize(0, n_tokens, 0);
    compute(0, w.n_groups, 0);
  } else {
    pool->parallel_for(n_tokens, quantize);
    pool->parallel_for(w.n_groups, compute);
  }
}

}  // namespace

const Int8Kernels& int8_kernels_scalar() {
  static const Int8Kernels k{kScalarMr, quantize_row_scalar, tile_scalar};
  return k;
}

}  // namespace detail

void matmul_int8_ref(const Int8Weights& w, const float* x, int64_t n_tokens, float* y) {
  detail::run(detail::int8_kernels_scalar(), w, x, n_tokens, y, nullptr);
}

void matmul_int8(const Int8Weights& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  detail::run(detail::int8_kernels_avx512vnni(), w, x, n_tokens, y, &pool);
}

}  // namespace qembed
