// Legacy 32-value blocks: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1. One f16 scale (and f16 min for the _1 types) per block.
// Quantizers pick the scale from the block's extremes like ggml's reference quantizers, but round the stored
// f16 scale/min first and quantize against those rounded values, so dequantize(quantize(x)) is stable.
// Dequantizers evaluate exactly ggml's expressions (int code converted to float, times d, plus m) so the floats
// are bit-identical to llama.cpp's.
// That holds while these files are built without FMA (plain x86-64): with -mfma GCC may fuse a * b + c.
#include <cstring>

#include "kernels/quant_block_layouts.hpp"
#include "kernels/quant_blocks_impl.hpp"

namespace qembed::quant_detail {

namespace {

struct BlockRange {
  float min;
  float max;
  float signed_absmax;  //!< the value of largest magnitude, with its sign
};

BlockRange block_range(const float* x) {
  BlockRange r{x[0], x[0], x[0]};
  for (int j = 1; j < kQK; ++j) {
    r.min = std::min(r.min, x[j]);
    r.max = std::max(r.max, x[j]);
    if (std::fabs(x[j]) > std::fabs(r.signed_absmax)) r.signed_absmax = x[j];
  }
  return r;
}

// Codes (0..2^bits-1) for x ≈ (code - offset) * d with d from the signed absmax mapped to code 0, like ggml.
void symmetric_codes(const float* x, int bits, uint16_t* d_bits, int* codes) {
  const int offset = 1 << (bits - 1);
  *d_bits = scale_to_f16(block_range(x).signed_absmax / static_cast<float>(-offset));
  const float id = safe_inverse(f16_to_f32(*d_bits));
  for (int j = 0; j < kQK; ++j) codes[j] = round_clamp(x[j] * id, -offset, offset - 1) + offset;
}

// Codes for x ≈ code * d + m with m = block min, d = (max - m) / (2^bits - 1).
void affine_codes(const float* x, int bits, uint16_t* d_bits, uint16_t* m_bits, int* codes) {
  const int nmax = (1 << bits) - 1;
  const BlockRange r = block_range(x);
  *m_bits = scale_to_f16(r.min);
  const float m = f16_to_f32(*m_bits);
  *d_bits = scale_to_f16((r.max - m) / static_cast<float>(nmax));
  const float id = safe_inverse(f16_to_f32(*d_bits));
  for (int j = 0; j < kQK; ++j) codes[j] = round_clamp((x[j] - m) * id, 0, nmax);
}

void pack_nibbles(const int* codes, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 15) | ((codes[j + kQK / 2] & 15) << 4));
}

void pack_fifth_bits(const int* codes, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kQK; ++j) bits |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(bits >> (8 * b));  // little-endian u32
}

uint32_t load_qh(const uint8_t* qh) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 | static_cast<uint32_t>(qh[2]) << 16 |
         static_cast<uint32_t>(qh[3]) << 24;
}

}  // namespace

// ---- dequantization ----

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const auto b = load_block<BlockQ8_0>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(b.qs[j]) * d;
  }
}

void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const auto b = load_block<BlockQ4_0>(src, i);
    const float d = f16_to_f32(b.d);
    float* y = dst + i * kQK;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 15) - 8) * d;
      y[j + kQK / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const auto b = load_block<BlockQ4_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    float* y = dst + i * kQK;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(b.qs[j] & 15) * d + m;
      y[j + kQK / 2] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const auto b = load_block<BlockQ5_0>(src, i);
    const float d = f16_to_f32(b.d);
    const uint32_t qh = load_qh(b.qh);
    float* y = dst + i * kQK;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b.qs[j] & 15) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + kQK / 2] = static_cast<float>(hi - 16) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const auto b = load_block<BlockQ5_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    const uint32_t qh = load_qh(b.qh);
    float* y = dst + i * kQK;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b.qs[j] & 15) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + kQK / 2] = static_cast<float>(hi) * d + m;
    }
  }
}

// ---- quantization ----

void quantize_q8_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float* x = src + i * kQK;
    BlockQ8_0 b{};
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    b.d = scale_to_f16(amax / 127.0f);
    const float id = safe_inverse(f16_to_f32(b.d));
    for (int j = 0; j < kQK; ++j) b.qs[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
    store_block(b, dst, i);
  }
}

void quantize_q4_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    BlockQ4_0 b{};
    int codes[kQK];
    symmetric_codes(src + i * kQK, 4, &b.d, codes);
    pack_nibbles(codes, b.qs);
    store_block(b, dst, i);
  }
}

void quantize_q4_1(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    BlockQ4_1 b{};
    int codes[kQK];
    affine_codes(src + i * kQK, 4, &b.d, &b.m, codes);
    pack_nibbles(codes, b.qs);
    store_block(b, dst, i);
  }
}

void quantize_q5_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    BlockQ5_0 b{};
    int codes[kQK];
    symmetric_codes(src + i * kQK, 5, &b.d, codes);
    pack_nibbles(codes, b.qs);
    pack_fifth_bits(codes, b.qh);
    store_block(b, dst, i);
  }
}

void quantize_q5_1(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    BlockQ5_1 b{};
    int codes[kQK];
    affine_codes(src + i * kQK, 5, &b.d, &b.m, codes);
    pack_nibbles(codes, b.qs);
    pack_fifth_bits(codes, b.qh);
    store_block(b, dst, i);
  }
}

}  // namespace qembed::quant_detail
