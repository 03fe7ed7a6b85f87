#pragma once
// Dot products of the vector index (f32 rows, int8 codes), one kernel per instruction-set level, chosen at run time:
// the scalar reference always, AVX2+FMA (vector_dot_avx2.cpp) and AVX-512 F/BW/VL/DQ (vector_dot_avx512.cpp) where
// the CPU and OS support them. Each SIMD level lives in its own translation unit compiled for that level only (the
// `_avx2.cpp` / `_avx512.cpp` suffix rule in CMakeLists.txt), so the library still runs on a baseline x86-64.
//
// kb/store may not include kernels/ (scripts/check_layering.sh), so the detection here is its own, through the
// compiler's __builtin_cpu_supports (which also checks that the OS saves the wide registers). QEMBED_SIMD caps the
// level as it does for the model kernels: "scalar", "avx2", "avx512" (and "avx512vnni", the same as avx512 here).
#include <cstddef>
#include <cstdint>

namespace qembed::kb {

enum class DotLevel { kScalar, kAvx2, kAvx512 };

const char* dot_level_name(DotLevel level);  //!< "scalar", "avx2", "avx512"
//! Whether this CPU can run the level's kernels (ignoring QEMBED_SIMD).
bool dot_level_supported(DotLevel level);
//! The level dot_f32/dot_int8 use: the best supported one, capped by QEMBED_SIMD. Decided once.
DotLevel dot_level();

using DotF32Fn = float (*)(const float* a, const float* b, size_t dims);
using DotInt8Fn = int32_t (*)(const int8_t* a, const int8_t* b, size_t dims);

//! The kernels of one level (must be supported). dot_f32 sums in a different order per level (results agree to
//! float rounding); dot_int8 is exact in int32 at every level (dims < 2^17).
DotF32Fn dot_f32_kernel(DotLevel level);
DotInt8Fn dot_int8_kernel(DotLevel level);

namespace dot_detail {
float dot_f32_scalar(const float* a, const float* b, size_t dims);
int32_t dot_int8_scalar(const int8_t* a, const int8_t* b, size_t dims);
float dot_f32_avx2(const float* a, const float* b, size_t dims);
int32_t dot_int8_avx2(const int8_t* a, const int8_t* b, size_t dims);
float dot_f32_avx512(const float* a, const float* b, size_t dims);
int32_t dot_int8_avx512(const int8_t* a, const int8_t* b, size_t dims);
}  // namespace dot_detail

}  // namespace qembed::kb
