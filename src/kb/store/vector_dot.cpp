#include "kb/store/vector_dot.hpp"

#include <cstdlib>
#include <cstring>

namespace qembed::kb {
namespace dot_detail {

float dot_f32_scalar(const float* a, const float* b, size_t dims) {
  // Four partial sums let the compiler vectorise without -ffast-math reassociation.
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= dims; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < dims; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

int32_t dot_int8_scalar(const int8_t* a, const int8_t* b, size_t dims) {
  int32_t sum = 0;
  for (size_t i = 0; i < dims; ++i) sum += static_cast<int32_t>(a[i]) * static_cast<int32_t>(b[i]);
  return sum;
}

}  // namespace dot_detail

namespace {

DotLevel best_supported() {
  if (dot_level_supported(DotLevel::kAvx512)) return DotLevel::kAvx512;
  if (dot_level_supported(DotLevel::kAvx2)) return DotLevel::kAvx2;
  return DotLevel::kScalar;
}

DotLevel choose_level() {
  DotLevel level = best_supported();
  const char* env = std::getenv("QEMBED_SIMD");
  if (env != nullptr) {  // a cap, never a raise; unknown names leave the level alone (the CLI reports them)
    if (std::strcmp(env, "scalar") == 0) level = DotLevel::kScalar;
    if (std::strcmp(env, "avx2") == 0 && level == DotLevel::kAvx512) level = DotLevel::kAvx2;
  }
  return level;
}

}  // namespace

const char* dot_level_name(DotLevel level) {
  switch (level) {
    case DotLevel::kScalar:
      return "scalar";
    case DotLevel::kAvx2:
      return "avx2";
    case DotLevel::kAvx512:
      return "avx512";
  }
  return "?";
}

bool dot_level_supported(DotLevel level) {
#if defined(__x86_64__) || defined(__i386__)
  switch (level) {
    case DotLevel::kScalar:
      return true;
    case DotLevel::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case DotLevel::kAvx512:  // the _avx512.cpp flags allow all four subsets: require all four
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
  return false;
#else
  return level == DotLevel::kScalar;
#endif
}

DotLevel dot_level() {
  static const DotLevel level = choose_level();
  return level;
}

DotF32Fn dot_f32_kernel(DotLevel level) {
  switch (level) {
    case DotLevel::kAvx512:
      return &dot_detail::dot_f32_avx512;
    case DotLevel::kAvx2:
      return &dot_detail::dot_f32_avx2;
    case DotLevel::kScalar:
      break;
  }
  return &dot_detail::dot_f32_scalar;
}

DotInt8Fn dot_int8_kernel(DotLevel level) {
  switch (level) {
    case DotLevel::kAvx512:
      return &dot_detail::dot_int8_avx512;
    case DotLevel::kAvx2:
      return &dot_detail::dot_int8_avx2;
    case DotLevel::kScalar:
      break;
  }
  return &dot_detail::dot_int8_scalar;
}

}  // namespace qembed::kb
