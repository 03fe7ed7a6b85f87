#pragma once
// The key of a cached pooled vector, defined once for every front end: the model's fingerprint, the numeric path
// that computed it (backend and SIMD level: the last bits may differ between paths) and the exact token ids.
// Vectors are cached before `dimensions`/normalization, so one entry serves every variant of a request.
#include <cstdint>
#include <string>
#include <vector>

namespace qembed::service {

struct CacheKey {
  std::string model_fingerprint;  //!< hex; the same file gives the same value wherever it lives
  std::string numeric_path;       //!< BackendInfo::numeric_path, e.g. "cpu/avx512vnni"
  std::vector<int32_t> ids;       //!< model ids, EOS included

  //! A compact, stable byte string for stores that key by bytes (a local LRU, Redis): version, fields, ids.
  std::string bytes() const;
  //! 64-bit hash of bytes(), for in-process tables.
  uint64_t hash() const;
  bool operator==(const CacheKey&) const = default;
};

}  // namespace qembed::service
