// Row (de)quantization entry points: float types here, block types in quant_blocks_legacy.cpp and
// quant_blocks_kquants.cpp.
#include "kernels/quant_blocks.hpp"

#include <cassert>
#include <cstring>

#include "kernels/fp16.hpp"
#include "kernels/quant_blocks_impl.hpp"

namespace qembed {

using namespace quant_detail;

namespace {

// 16-bit float rows (F16, BF16): read or write each value through memcpy, since rows in a mapped file may sit at
// any alignment.
template <float (*ToF32)(uint16_t)>
void decode_16bit(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = ToF32(h);
  }
}

template <uint16_t (*FromF32)(float)>
void encode_16bit(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = FromF32(src[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

}  // namespace

void dequantize_row_ref(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      return decode_16bit<f16_to_f32>(src, dst, n);
    case GgmlType::BF16:
      return decode_16bit<bf16_to_f32>(src, dst, n);
    case GgmlType::Q8_0:
      return dequantize_q8_0(src, dst, n);
    case GgmlType::Q4_0:
      return dequantize_q4_0(src, dst, n);
    case GgmlType::Q4_1:
      return dequantize_q4_1(src, dst, n);
    case GgmlType::Q5_0:
      return dequantize_q5_0(src, dst, n);
    case GgmlType::Q5_1:
      return dequantize_q5_1(src, dst, n);
    case GgmlType::Q4_K:
      return dequantize_q4_k(src, dst, n);
    case GgmlType::Q5_K:
      return dequantize_q5_k(src, dst, n);
    case GgmlType::Q6_K:
      return dequantize_q6_k(src, dst, n);
  }
  assert(false && "dequantize_row_ref: unsupported type");
}

void quantize_row_ref(GgmlType type, const float* src, uint8_t* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      return encode_16bit<f32_to_f16>(src, dst, n);
    case GgmlType::BF16:
      return encode_16bit<f32_to_bf16>(src, dst, n);
    case GgmlType::Q8_0:
      return quantize_q8_0(src, dst, n);
    case GgmlType::Q4_0:
      return quantize_q4_0(src, dst, n);
    case GgmlType::Q4_1:
      return quantize_q4_1(src, dst, n);
    case GgmlType::Q5_0:
      return quantize_q5_0(src, dst, n);
    case GgmlType::Q5_1:
      return quantize_q5_1(src, dst, n);
    case GgmlType::Q4_K:
      return quantize_q4_k(src, dst, n);
    case GgmlType::Q5_K:
      return quantize_q5_k(src, dst, n);
    case GgmlType::Q6_K:
      return quantize_q6_k(src, dst, n);
  }
  assert(false && "quantize_row_ref: unsupported type");
}

}  // namespace qembed
