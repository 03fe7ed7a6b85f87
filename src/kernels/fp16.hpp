#pragma once
// IEEE half and bfloat16 conversions (scalar, exact, round-to-nearest-even on the way down).
#include <cstdint>
#include <cstring>

namespace qembed {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint16_t f32_to_bf16(float f);

}  // namespace qembed
