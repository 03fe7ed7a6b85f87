// Runtime SIMD level: cpuid feature bits, OS register-state support (xgetbv) and the QEMBED_SIMD cap.
#include "kernels/cpu_features.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace qembed {
namespace {

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

SimdLevel detect_hardware_level() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return SimdLevel::Scalar;
  const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
  if (!osxsave || !avx || !fma || !f16c) return SimdLevel::Scalar;
  const uint64_t xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return SimdLevel::Scalar;  // XMM and YMM state saved by the OS
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return SimdLevel::Scalar;
  const bool avx2 = (b >> 5) & 1;
  if (!avx2) return SimdLevel::Scalar;
  const bool avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  const bool avx512vnni = (c >> 11) & 1;
  const bool zmm_state = (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (!(avx512f && avx512dq && avx512bw && avx512vl && zmm_state)) return SimdLevel::Avx2;
  return avx512vnni ? SimdLevel::Avx512Vnni : SimdLevel::Avx512;
}

// The level QEMBED_SIMD names; nullopt when it is unset or empty (no cap) or names no level (simd_env_error()).
std::optional<SimdLevel> level_from_env() {
  const char* env = std::getenv("QEMBED_SIMD");
  if (env == nullptr || *env == '\0') return std::nullopt;
  for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512, SimdLevel::Avx512Vnni}) {
    if (std::strcmp(env, simd_level_name(l)) == 0) return l;
  }
  return std::nullopt;
}

SimdLevel cap_from_env(SimdLevel hw) {
  const std::optional<SimdLevel> cap = level_from_env();
  return cap && static_cast<int>(*cap) < static_cast<int>(hw) ? *cap : hw;
}

std::atomic<int> g_level{-1};

}  // namespace

SimdLevel simd_level_hardware() {
  static const SimdLevel hw = detect_hardware_level();
  return hw;
}

SimdLevel simd_level() {
  int v = g_level.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(cap_from_env(simd_level_hardware()));
    g_level.store(v, std::memory_order_relaxed);
  }
  return static_cast<SimdLevel>(v);
}

std::string simd_env_error() {
  const char* env = std::getenv("QEMBED_SIMD");
  if (env == nullptr || *env == '\0' || level_from_env()) return {};
  return std::string("QEMBED_SIMD must be scalar, avx2, avx512 or avx512vnni, got \"") + env + "\"";
}

SimdLevel simd_level_capped(SimdLevel level) {
  const SimdLevel hw = simd_level_hardware();
  return static_cast<int>(level) < static_cast<int>(hw) ? level : hw;
}

void set_simd_level(SimdLevel level) {
  g_level.store(static_cast<int>(simd_level_capped(level)), std::memory_order_relaxed);
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar: return "scalar";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

std::vector<SimdLevel> simd_levels_available() {
  std::vector<SimdLevel> out;
  for (int v = 0; v <= static_cast<int>(simd_level_hardware()); ++v) out.push_back(static_cast<SimdLevel>(v));
  return out;
}

}  // namespace qembed
