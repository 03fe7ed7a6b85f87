#include "kb/store/vector_codec.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "kb/store/vector_dot.hpp"

namespace qembed::kb {

uint16_t f32_to_f16(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {                                               // f16 subnormal or zero
    const float magnitude = std::bit_cast<float>(abs);
    // subnormal step 2^-24: scale and round to nearest even
    const float scaled = magnitude * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  const uint32_t mantissa_rounded = abs + 0xfffu + ((abs >> 13) & 1u);  // round to nearest even at bit 13
  return static_cast<uint16_t>(sign | ((mantissa_rounded - 0x38000000u) >> 13));
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

size_t encoded_vector_bytes(VectorType type, size_t dims) {
  switch (type) {
    case VectorType::kF32:
      return dims * 4;
    case VectorType::kF16:
      return dims * 2;
    case VectorType::kInt8:
      return dims;
  }
  return 0;
}

std::vector<uint8_t> encode_f16(std::span<const float> values) {
  std::vector<uint8_t> out(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = f32_to_f16(values[i]);
    out[2 * i] = static_cast<uint8_t>(h & 0xff);
    out[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
  return out;
}

VectorRow encode_vector_row(VectorType type, std::span<const float> values) {
  VectorRow row;
  row.data = encode_vector(type, values, &row.scale);
  if (type == VectorType::kInt8) row.original = encode_f16(values);
  return row;
}

bool decode_vector_row(VectorType type, std::span<const uint8_t> data, float scale,
                       std::span<const uint8_t> original, std::span<float> out) {
  if (!original.empty() && original.size() == out.size() * 2) {
    decode_vector(VectorType::kF16, original, 1.0f, out);
  } else if (data.size() == encoded_vector_bytes(type, out.size())) {
    decode_vector(type, data, scale, out);
  } else {
    return false;
  }
  return true;
}

std::vector<uint8_t> encode_vector(VectorType type, std::span<const float> values, float* scale) {
  *scale = 1.0f;
  switch (type) {
    case VectorType::kF32: {
      std::vector<uint8_t> out(values.size() * 4);
      std::memcpy(out.data(), values.data(), out.size());  // x86-64 / aarch64: little-endian
      return out;
    }
    case VectorType::kF16:
      return encode_f16(values);
    case VectorType::kInt8: {
      std::vector<uint8_t> out(values.size());
      *scale = quantize_int8(values, {reinterpret_cast<int8_t*>(out.data()), out.size()});
      return out;
    }
  }
  return {};
}

void decode_vector(VectorType type, std::span<const uint8_t> data, float scale, std::span<float> out) {
  switch (type) {
    case VectorType::kF32:
      std::memcpy(out.data(), data.data(), out.size() * 4);
      return;
    case VectorType::kF16:
      for (size_t i = 0; i < out.size(); ++i) {
        out[i] = f16_to_f32(static_cast<uint16_t>(data[2 * i] | (data[2 * i + 1] << 8)));
      }
      return;
    case VectorType::kInt8:
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(static_cast<int8_t>(data[i])) * scale;
      return;
  }
}

float quantize_int8(std::span<const float> values, std::span<int8_t> codes) {
  float max_abs = 0;
  for (float v : values) max_abs = std::max(max_abs, std::fabs(v));
  if (max_abs == 0) {
    std::fill(codes.begin(), codes.end(), 0);
    return 0;
  }
  const float scale = max_abs / 127.0f;
  const float inverse = 127.0f / max_abs;
  for (size_t i = 0; i < values.size(); ++i) {
    const float q = std::nearbyint(values[i] * inverse);
    codes[i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
  }
  return scale;
}

int32_t dot_int8(const int8_t* a, const int8_t* b, size_t dims) {
  static const DotInt8Fn kernel = dot_int8_kernel(dot_level());
  return kernel(a, b, dims);
}

float dot_f32(const float* a, const float* b, size_t dims) {
  static const DotF32Fn kernel = dot_f32_kernel(dot_level());
  return kernel(a, b, dims);
}

}  // namespace qembed::kb
