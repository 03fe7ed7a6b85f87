// AVX2+FMA dot products (compiled with -mavx2 -mfma -mf16c; called only when dot_level_supported(kAvx2)). Only
// <immintrin.h> and fixed-width types here: an inline function from a standard header instantiated in this
// translation unit could be picked by the linker for the whole program and run on a CPU without AVX2.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/avx2_common.hpp"  // the horizontal sums, shared with the model's AVX2 kernels

namespace qembed::kb::dot_detail {

float dot_f32_avx2(const float* a, const float* b, size_t dims) {
  // Four independent accumulators hide the FMA latency (4 cycles, 2 per cycle on Zen 3).
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dims; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= dims; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float sum = qembed::detail::hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < dims; ++i) sum += a[i] * b[i];
  return sum;
}

int32_t dot_int8_avx2(const int8_t* a, const int8_t* b, size_t dims) {
  // Sign-extend 16 codes to int16 and multiply-add pairs into int32 (vpmaddwd): |pair| <= 2·127², exact.
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= dims; i += 32) {
    const __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    const __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 16)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 16)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a1, b1));
  }
  for (; i + 16 <= dims; i += 16) {
    const __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
  }
  int32_t sum = qembed::detail::hsum256_epi32(_mm256_add_epi32(s0, s1));
  for (; i < dims; ++i) sum += static_cast<int32_t>(a[i]) * static_cast<int32_t>(b[i]);
  return sum;
}

}  // namespace qembed::kb::dot_detail
