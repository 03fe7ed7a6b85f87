#pragma once
// Scalar reference (de)quantization of one row for every supported ggml type. These are the oracles the SIMD
// panel decoders are tested against and what the model writer / `qembed quantize` use.
#include <cstdint>

#include "formats/ggml_types.hpp"

namespace qembed {

//! dst[0..n) = values of the row at src (n a multiple of the type's block size).
void dequantize_row_ref(GgmlType type, const uint8_t* src, float* dst, int64_t n);
//! Encodes n floats into ggml_row_bytes(type, n) bytes at dst (round-to-nearest scales, like ggml's reference
//! quantizers; K-quants search scales per sub-block).
void quantize_row_ref(GgmlType type, const float* src, uint8_t* dst, int64_t n);

}  // namespace qembed
