#pragma once
// Deterministic weights: every row of every tensor has its own generator seeded from (seed, tensor name, row),
// so values do not depend on the output format, the tensor order or how rows are split across threads.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "model_spec.hpp"

namespace qembed::model_gen {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

//! out[0..n) = init.mean + init.std * z, z ~ approximately N(0, 1): the Irwin-Hall sum of four 16-bit uniforms
//! from one splitmix64 draw, rescaled to unit variance. Bounded at +-3.46 (no outliers) and ~10x cheaper than
//! Box-Muller, which matters when a 0.6B model needs 600M values.
inline void fill_row(uint64_t seed, uint64_t tensor_hash, int64_t row, const Init& init, float* out, int64_t n) {
  uint64_t state = seed ^ tensor_hash;
  state ^= splitmix64(state) + static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull;
  // Sum of 4 uniforms on {0..65535}: mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12.
  constexpr double kMean = 4 * 32767.5;
  const double scale = init.std / std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix64(state);
    const double sum = static_cast<double>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    out[i] = static_cast<float>(init.mean + (sum - kMean) * scale);
  }
}

}  // namespace qembed::model_gen
