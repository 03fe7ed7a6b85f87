#pragma once
// Internal: per-ISA versions of the row ops in ops.hpp, chosen by simd_level() in ops.cpp.
#include <cstdint>

namespace qembed::detail {

void rmsnorm_avx512(const float* x, const float* w, float* y, int64_t n, float eps);
void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t n);

}  // namespace qembed::detail
