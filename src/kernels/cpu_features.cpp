// Runtime SIMD level: cpuid feature bits, OS register-state support (xgetbv) and the QEMBED_SIMD cap.
#include "kernels/cpu_features.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

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

SimdLevel cap_from_env(SimdLevel hw) {
  const char* env = std::getenv("QEMBED_SIMD");
  if (env == nullptr || *env == '\0') return hw;
  SimdLevel cap = hw;
  if (std::strcmp(env, "scalar") == 0) cap = SimdLevel::Scalar;
  else if (std::strcmp(env, "avx2") == 0) cap = SimdLevel::Avx2;
  else if (std::strcmp(env, "avx512") == 0) cap = SimdLevel::Avx512;
  else if (std::strcmp(env, "avx512vnni") == 0) cap = SimdLevel::Avx512Vnni;
  return static_cast<int>(cap) < static_cast<int>(hw) ? cap : hw;
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

void set_simd_level(SimdLevel level) {
  const SimdLevel hw = simd_level_hardware();
  const SimdLevel v = static_cast<int>(level) < static_cast<int>(hw) ? level : hw;
  g_level.store(static_cast<int>(v), std::memory_order_relaxed);
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
