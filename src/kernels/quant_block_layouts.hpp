#pragma once
// Byte layouts of the ggml quant blocks, identical to llama.cpp's (tests/oracle/ggml_quant_crosscheck.cpp proves
// it against libggml). All members are bytes or uint16_t so the structs have no padding; f16 fields hold IEEE
// half bits (see kernels/fp16.hpp). Blocks inside a mapped file may be unaligned: memcpy them out or read fields
// byte-wise rather than casting pointers.
#include <cstdint>

namespace qembed {

inline constexpr int kQK = 32;           //!< values per legacy block (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1)
inline constexpr int kQKK = 256;         //!< values per K-quant super-block (Q4_K, Q5_K, Q6_K)
inline constexpr int kKScaleBytes = 12;  //!< packed 6-bit scales and mins of the 8 sub-blocks of Q4_K / Q5_K

//! value = qs[j] * d
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
//! value j < 16 = ((qs[j] & 15) - 8) * d, value j + 16 = ((qs[j] >> 4) - 8) * d
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
//! value = nibble * d + m (nibbles split as in Q4_0)
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
//! Q4_0 nibbles plus a fifth bit per value in the little-endian u32 qh (bit j: value j); value = (q - 16) * d
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
//! Q5_0 bits, value = q * d + m
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
//! 8 sub-blocks of 32: value = d * sc(j) * q - dmin * m(j); qs chunk c (32 bytes) holds sub-block 2c in the low
//! nibbles and 2c + 1 in the high nibbles.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQKK / 2];
};
//! Q4_K plus a fifth bit: bit 2c (low nibble) / 2c + 1 (high nibble) of qh[l] for byte l of chunk c.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
//! 16 sub-blocks of 16: value = d * scales[i / 16] * (q - 32), q 6 bits split into ql nibbles and qh pairs.
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

//! Decodes the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void k_scale_min(const uint8_t* q, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace qembed
