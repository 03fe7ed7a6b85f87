#pragma once
// Shared by the matmul tests: seeded weights in any stored type, random activations, and the error metric.
#include <cmath>
#include <random>
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/weight_matrix.hpp"

namespace qembed::test {

struct OwnedWeights {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

inline OwnedWeights make_weights(GgmlType type, int64_t n_out, int64_t n_in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n_in));
  OwnedWeights ow;
  ow.w.name = "test";
  ow.w.type = type;
  ow.w.n_in = n_in;
  ow.w.n_out = n_out;
  ow.w.row_bytes = ggml_row_bytes(type, n_in);
  ow.bytes.resize(ow.w.row_bytes * static_cast<size_t>(n_out));
  for (int64_t o = 0; o < n_out; ++o) {
    for (auto& v : row) v = dist(rng);
    quantize_row_ref(type, row.data(), ow.bytes.data() + o * ow.w.row_bytes, n_in);
  }
  ow.w.data = ow.bytes.data();
  return ow;
}

inline std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// sum_k |w[o][k] x[t][k]| in double: the scale of the rounding error of any summation order.
inline std::vector<double> abs_products(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> row(static_cast<size_t>(w.n_in));
  std::vector<double> out(static_cast<size_t>(n_tokens * w.n_out));
  for (int64_t o = 0; o < w.n_out; ++o) {
    dequantize_row_ref(w.type, w.row(o), row.data(), w.n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double acc = 0.0;
      for (int64_t k = 0; k < w.n_in; ++k) acc += std::fabs(static_cast<double>(row[k]) * x[t * w.n_in + k]);
      out[t * w.n_out + o] = acc;
    }
  }
  return out;
}

// max over outputs of |y - ref| / sum_k |w x|: a few float epsilons for a correct kernel, and about the share of
// the terms that went wrong for a broken one (one missing 32-block of 1056 values -> ~3e-2).
inline double max_rel_error(const std::vector<float>& y, const std::vector<float>& ref, const std::vector<double>& scale) {
  double worst = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(static_cast<double>(y[i]) - ref[i]) / (scale[i] + 1e-30);
    if (std::isnan(err)) return INFINITY;
    worst = std::max(worst, err);
  }
  return worst;
}

}  // namespace qembed::test
