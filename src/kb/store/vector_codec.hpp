#pragma once
// Stored vector encodings (little-endian blobs): f32 as is, f16 IEEE half, int8 symmetric per vector
// (code = round(x / scale), scale = max|x| / 127, value ≈ code * scale).
#include <cstdint>
#include <span>
#include <vector>

#include "kb/store/store.hpp"

namespace qembed::kb {

uint16_t f32_to_f16(float value);  //!< round to nearest even; overflow -> inf
float f16_to_f32(uint16_t bits);

//! Bytes one vector of `dims` takes in `type` (int8: the codes only; the scale is a separate column).
size_t encoded_vector_bytes(VectorType type, size_t dims);

//! Encodes one f32 vector; for kInt8 returns the codes and sets *scale.
std::vector<uint8_t> encode_vector(VectorType type, std::span<const float> values, float* scale);
//! Encodes as f16 (the int8 collections' originals).
std::vector<uint8_t> encode_f16(std::span<const float> values);

//! Decodes one stored vector to f32 (out.size() values).
void decode_vector(VectorType type, std::span<const uint8_t> data, float scale, std::span<float> out);

//! One vector as the stores keep it in their `vectors` rows: the collection type's encoding and scale, and for int8
//! collections the f16 original that rescoring and reindexing read (empty for the other types).
struct VectorRow {
  std::vector<uint8_t> data;
  float scale = 1;
  std::vector<uint8_t> original;
};
VectorRow encode_vector_row(VectorType type, std::span<const float> values);
//! A stored row back to f32 (out.size() values): the f16 original when it has the size, else the encoding. False
//! when neither has the size for out.size() dimensions (a damaged row: the caller names it).
bool decode_vector_row(VectorType type, std::span<const uint8_t> data, float scale,
                       std::span<const uint8_t> original, std::span<float> out);

//! Symmetric int8 quantization of one vector: returns the scale (0 for an all-zero vector).
float quantize_int8(std::span<const float> values, std::span<int8_t> codes);

//! Σ a[i]·b[i] over int8 codes, exact in int32 (dims < 2^17). Both run the best kernel of vector_dot.hpp.
int32_t dot_int8(const int8_t* a, const int8_t* b, size_t dims);
float dot_f32(const float* a, const float* b, size_t dims);

}  // namespace qembed::kb
