// AVX-512 (F/BW/VL/DQ) dot products, called only when dot_level_supported(kAvx512). Tails use masked loads, so
// every size takes the vector path. As in vector_dot_avx2.cpp: no standard headers with inline functions here.
// GCC 12 reports its own _mm512_undefined_* placeholders (inside the reductions and the int8 widening) as
// uninitialised once inlined here (GCC bug 105593, fixed in 13): silence that one warning for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace qembed::kb::dot_detail {
float dot_f32_avx512(const float* a, const float* b, size_t dims) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= dims; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= dims; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < dims) {
    const __mmask16 m = static_cast<__mmask16>((1u << (dims - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

int32_t dot_int8_avx512(const int8_t* a, const int8_t* b, size_t dims) {
  // 32 codes sign-extended to int16 per step, pairs multiply-added into int32 (exact, as in the AVX2 kernel).
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 64 <= dims; i += 64) {
    const __m512i a0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
    const __m512i b0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    const __m512i a1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 32)));
    const __m512i b1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 32)));
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, b0));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(a1, b1));
  }
  for (; i < dims; i += 32) {  // the last 1..63 codes, masked: lanes past the end load as 0
    const size_t left = dims - i < 32 ? dims - i : 32;
    const __mmask32 m = left == 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
    const __m512i a0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
    const __m512i b0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, b0));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

}  // namespace qembed::kb::dot_detail
