#pragma once
// Runtime SIMD level detection. QEMBED_SIMD=scalar|avx2|avx512|avx512vnni caps the level (for tests and
// comparisons); a value above what the CPU supports caps silently to the hardware level, an unknown value is
// reported by simd_env_error() (the CPU backend refuses to start with it). Each level has its own translation
// units, compiled for that level only:
//   scalar      portable C++ (the oracle every other level is tested against)
//   avx2        AVX2 + FMA + F16C f32 kernels; int8 kernels (vpmaddubsw + vpmaddwd) for quantized weights over
//               int8-quantized activations
//   avx512      AVX-512 F/BW/VL/DQ f32 kernels (quantized weights keep the AVX2 int8 kernels)
//   avx512vnni  + int8 dot products (vpdpbusd) for quantized weights
// (An AVX-512 BF16 level with vdpbf16ps for BF16 weights was built and measured slower than the f32 FMA path on
// the development CPU; see docs/design.md.)
#include <string>
#include <vector>

namespace qembed {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Vnni = 3 };

//! The best level this CPU and OS support, capped by QEMBED_SIMD if set (an invalid value caps nothing). Cached
//! after the first call. The process-wide default of the kernels' `level` parameters; a backend reads it once.
SimdLevel simd_level();
//! Empty when QEMBED_SIMD is unset, empty or a level name; otherwise the message for the user
//! ("QEMBED_SIMD must be scalar, avx2, avx512 or avx512vnni, got \"bogus\"").
std::string simd_env_error();
//! `level` lowered to what the hardware supports (kernels take a level from callers; this keeps a wrong one from
//! reaching an instruction the CPU lacks).
SimdLevel simd_level_capped(SimdLevel level);
const char* simd_level_name(SimdLevel level);
//! What the CPU and OS support, ignoring QEMBED_SIMD.
SimdLevel simd_level_hardware();
//! Overrides the cached level (tests, benchmarks); capped at simd_level_hardware(). Not for use mid-call.
void set_simd_level(SimdLevel level);
//! set_simd_level for one scope, restoring the previous level on exit (tests, benchmarks).
class ScopedSimdLevel {
 public:
  explicit ScopedSimdLevel(SimdLevel level) : saved_(simd_level()) { set_simd_level(level); }
  ~ScopedSimdLevel() { set_simd_level(saved_); }
  ScopedSimdLevel(const ScopedSimdLevel&) = delete;
  ScopedSimdLevel& operator=(const ScopedSimdLevel&) = delete;

 private:
  SimdLevel saved_;
};

//! Every level from scalar up to simd_level_hardware() (for tests that check each level against scalar).
std::vector<SimdLevel> simd_levels_available();

}  // namespace qembed
