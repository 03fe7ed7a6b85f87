#pragma once
// Small helpers the backend tests share: cosine similarity and seeded random token sequences.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace qembed::testing {

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

//! n ids drawn from the vocabulary's ordinary tokens (below the added ones).
inline std::vector<int32_t> random_ids(std::mt19937& rng, int n) {
  std::uniform_int_distribution<int32_t> d(0, 151000);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

//! n ids ending in `eos`, like a tokenized input.
inline std::vector<int32_t> random_tokens(std::mt19937& rng, int n, int32_t eos) {
  std::vector<int32_t> t = random_ids(rng, n);
  t.back() = eos;
  return t;
}

}  // namespace qembed::testing
