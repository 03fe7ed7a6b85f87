#pragma once
// Runtime SIMD level detection. QEMBED_SIMD=scalar|avx2|avx512 caps the level (for tests and comparisons).
namespace qembed {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

//! The best level this CPU and OS support, capped by QEMBED_SIMD if set. Cached after the first call.
SimdLevel simd_level();
const char* simd_level_name(SimdLevel level);
//! What the CPU and OS support, ignoring QEMBED_SIMD.
SimdLevel simd_level_hardware();
//! Overrides the cached level (tests, benchmarks); capped at simd_level_hardware(). Not for use mid-call.
void set_simd_level(SimdLevel level);

}  // namespace qembed
