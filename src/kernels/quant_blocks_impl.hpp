#pragma once
// Internal to quant_blocks*.cpp: per-type row codecs and shared rounding helpers. Callers use quant_blocks.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/fp16.hpp"

namespace qembed::quant_detail {

inline constexpr float kF16Max = 65504.0f;

//! Rounds v to the nearest integer (ties to even) and clamps it to [lo, hi]; NaN gives lo. Never overflows.
//! Adding 1.5 * 2^23 rounds in the FPU's default nearest-even mode without a libm call (std::nearbyint is one
//! on baseline x86-64, and this sits in the quantizers' inner loops); exact because |v| <= 2^22 after clamping.
inline int round_clamp(float v, int lo, int hi) {
  if (!(v > static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  constexpr float kRoundMagic = 12582912.0f;
  return static_cast<int>((v + kRoundMagic) - kRoundMagic);
}

//! Clamps a block scale into the finite f16 range (so an out-of-range block saturates instead of turning into
//! inf / nan) and returns its f16 bits.
inline uint16_t scale_to_f16(float v) { return f32_to_f16(std::clamp(v, -kF16Max, kF16Max)); }

//! Like scale_to_f16 but rounds the magnitude up when nearest rounding would shrink it, so the largest
//! sub-block scale still fits its integer range (matters where d is an f16 subnormal, a few ulps wide).
inline uint16_t scale_to_f16_covering(float v) {
  uint16_t h = scale_to_f16(v);
  if (std::fabs(f16_to_f32(h)) < std::fabs(v) && (h & 0x7fffu) < 0x7bffu) ++h;  // next magnitude, same sign
  return h;
}

//! Block i of a byte stream of consecutive blocks (memcpy: the stream may sit at any alignment in a mapped file).
template <typename Block>
Block load_block(const uint8_t* src, int64_t i) {
  Block b;
  std::memcpy(&b, src + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

//! Writes block i of a byte stream of consecutive blocks.
template <typename Block>
void store_block(const Block& b, uint8_t* dst, int64_t i) {
  std::memcpy(dst + i * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
}

//! Reciprocal that maps 0 (an all-zero block) to 0 so every quantized value becomes the zero code.
inline float safe_inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Row codecs; n is a multiple of the block size, src/dst are byte streams of consecutive blocks.
void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n);
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t n);

void quantize_q8_0(const float* src, uint8_t* dst, int64_t n);
void quantize_q4_0(const float* src, uint8_t* dst, int64_t n);
void quantize_q4_1(const float* src, uint8_t* dst, int64_t n);
void quantize_q5_0(const float* src, uint8_t* dst, int64_t n);
void quantize_q5_1(const float* src, uint8_t* dst, int64_t n);
void quantize_q4_k(const float* src, uint8_t* dst, int64_t n);
void quantize_q5_k(const float* src, uint8_t* dst, int64_t n);
void quantize_q6_k(const float* src, uint8_t* dst, int64_t n);

}  // namespace qembed::quant_detail
