// IEEE binary16 and bfloat16 conversions done with integer bit manipulation, so they are exact on any CPU and
// agree with the F16C instructions (tests/unit/kernels/test_fp16.cpp checks both claims).
#include "kernels/fp16.hpp"

namespace qembed {

namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf, nan (payload kept)
  if (exp != 0) return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return bits_float(sign);  // signed zero
  // Subnormal: mant * 2^-24. Shift the leading one up to bit 10 and lower the exponent to match.
  uint32_t e = 113;  // exponent field of 2^-14
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  return bits_float(sign | (e << 23) | ((mant & 0x3ffu) << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) {
    // NaN: keep the top payload bits and force the quiet bit, as vcvtps2ph does.
    return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  }
  if (a >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 2^16 (and inf): overflow
  const uint32_t exp = a >> 23;
  if (exp >= 113) {
    // Normal half. Round the 13 dropped bits to nearest even; a carry out of the mantissa bumps the exponent
    // correctly, and one out of the largest exponent yields 0x7c00 (inf), which is the right rounding.
    uint32_t h = ((exp - 112u) << 10) | ((a >> 13) & 0x3ffu);
    const uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // Subnormal half (or zero): value = m * 2^(exp-150) with m the 24-bit significand; in units of 2^-24 that is
  // m >> (126 - exp). Everything at or below 2^-25 rounds to zero (the tie goes to the even zero).
  const uint32_t shift = 126u - exp;
  if (shift > 24) return sign;
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;  // exp >= 102 here, so the value is normal in f32
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // q may reach 0x400: the smallest normal, correctly
  return static_cast<uint16_t>(sign | q);
}

uint16_t f32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet the nan
  const uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);                               // round to nearest even
  return static_cast<uint16_t>(rounded >> 16);
}

}  // namespace qembed
