// K-quant super-blocks of 256 values: Q4_K, Q5_K (8 sub-blocks of 32, 6-bit scale and min each) and Q6_K
// (16 sub-blocks of 16, int8 scale each).
//
// Quantization is two-level. First every sub-block gets a float scale (and offset) by a small search: try a
// range of candidate scales around range / nmax, round the values with each, solve the least-squares scale and
// offset for those codes, keep the fit with the least squared error. Then the sub-block scales are themselves
// quantized (6 bits, or int8 for Q6_K) against one f16 super-block scale, and the values are re-rounded against
// the scales as they will be decoded. Dequantizers evaluate ggml's expressions in ggml's order (d * sc first,
// then times the code, minus dmin * m) so the floats are bit-identical to llama.cpp's.
// That holds while these files are built without FMA (plain x86-64): with -mfma GCC may fuse a * b + c.
#include <cstring>
#include <limits>

#include "kernels/quant_block_layouts.hpp"
#include "kernels/quant_blocks_impl.hpp"

namespace qembed::quant_detail {

namespace {

//! x ≈ scale * code - offset, codes in [0, nmax]. The format needs offset >= 0 (the sub-block minimum is
//! clipped to <= 0).
struct AffineFit {
  float scale = 0.0f;
  float offset = 0.0f;
};

// Least-squares fit of x[0..n) by scale * code + min over the given codes, with min <= 0; returns its squared
// error. Sums are in double: n is at most 32, so this costs nothing and avoids cancellation in det.
double fit_affine_to_codes(const float* x, const int* codes, int n, double s_xx, AffineFit* fit) {
  double s_l = 0, s_ll = 0, s_x = 0, s_xl = 0;
  for (int i = 0; i < n; ++i) {
    s_l += codes[i];
    s_ll += static_cast<double>(codes[i]) * codes[i];
    s_x += x[i];
    s_xl += static_cast<double>(x[i]) * codes[i];
  }
  double scale = 0, min = 0;
  const double det = n * s_ll - s_l * s_l;
  if (det > 0) {
    scale = (n * s_xl - s_l * s_x) / det;
    min = (s_ll * s_x - s_l * s_xl) / det;
  }
  if (min > 0 || det <= 0) {  // the format cannot add a positive offset: refit through the origin
    min = 0;
    scale = s_ll > 0 ? s_xl / s_ll : 0;
  }
  if (scale < 0) scale = 0;  // codes are monotone in x, so this only guards rounding noise
  fit->scale = static_cast<float>(scale);
  fit->offset = static_cast<float>(-min);
  // sum (scale * l + min - x)^2 expanded into the sums, so no second pass over the values.
  const double err_sum =
      scale * scale * s_ll + n * min * min + s_xx + 2 * scale * min * s_l - 2 * scale * s_xl - 2 * min * s_x;
  return std::max(err_sum, 0.0);  // the expansion can come out a hair below zero for an exact fit
}

// Searches scale and offset for one sub-block of n <= 32 values with codes 0..nmax.
AffineFit search_affine(const float* x, int n, int nmax) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);
  AffineFit best{0.0f, -lo};
  if (!(hi > lo)) return best;  // constant block <= 0: offset alone is exact
  int codes[32];
  double s_xx = 0;
  for (int i = 0; i < n; ++i) s_xx += static_cast<double>(x[i]) * x[i];
  double best_err = std::numeric_limits<double>::infinity();
  // Candidate inverse scales (nmax + t) / range for t in [-1, 1]: the plain range / nmax fit and its neighbours,
  // which trade clipping the extremes for finer steps in the bulk of the values.
  // Steps go 0, -1, 1, -2, 2, ... and a later one must win clearly, so exact ties keep the plain range fit.
  for (int k = 0; k <= 20; ++k) {
    const int step = (k % 2 ? -1 : 1) * ((k + 1) / 2);
    const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
    for (int i = 0; i < n; ++i) codes[i] = round_clamp((x[i] - lo) * iscale, 0, nmax);
    AffineFit fit;
    const double err = fit_affine_to_codes(x, codes, n, s_xx, &fit);
    if (err < best_err * (1.0 - 1e-9)) {
      best_err = err;
      best = fit;
    }
  }
  return best;
}

// Searches a signed scale for one sub-block of n values with codes -nmax..nmax-1 (x ≈ scale * code).
float search_symmetric(const float* x, int n, int nmax) {
  float vmax = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(vmax)) vmax = x[i];
  if (vmax == 0.0f) return 0.0f;
  float best_scale = 0.0f;
  double best_err = std::numeric_limits<double>::infinity();
  for (int k = 0; k <= 18; ++k) {  // steps 0, -1, 1, ...: ties keep the plain absmax fit, as above
    const int step = (k % 2 ? -1 : 1) * ((k + 1) / 2);
    // The largest-magnitude value goes to code -nmax (the side with one more code), as in ggml.
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / vmax;
    double s_xl = 0, s_ll = 0, s_xx = 0;
    for (int i = 0; i < n; ++i) {
      const int l = round_clamp(x[i] * iscale, -nmax, nmax - 1);
      s_xl += static_cast<double>(x[i]) * l;
      s_ll += static_cast<double>(l) * l;
      s_xx += static_cast<double>(x[i]) * x[i];
    }
    if (s_ll <= 0) continue;
    const double err = std::max(s_xx - s_xl * s_xl / s_ll, 0.0);  // residual of the least-squares scale s_xl / s_ll
    if (err < best_err * (1.0 - 1e-9)) {
      best_err = err;
      best_scale = static_cast<float>(s_xl / s_ll);
    }
  }
  return best_scale;
}

// Quantizes the 8 sub-block fits of a Q4_K / Q5_K super-block to 6 bits against f16 d / dmin, packs them into
// scales[12] and writes the codes (0..nmax) the values get against the decoded scales.
void quantize_k_superblock(const float* x, int nmax, uint16_t* d_bits, uint16_t* dmin_bits, uint8_t* scales,
                           int* codes) {
  AffineFit fits[8];
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fits[j] = search_affine(x + 32 * j, 32, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_offset = std::max(max_offset, fits[j].offset);
  }
  *d_bits = scale_to_f16_covering(max_scale / 63.0f);
  *dmin_bits = scale_to_f16_covering(max_offset / 63.0f);
  const float d = f16_to_f32(*d_bits);
  const float dmin = f16_to_f32(*dmin_bits);
  const float id = safe_inverse(d), idmin = safe_inverse(dmin);
  int ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = round_clamp(fits[j].scale * id, 0, 63);
    lm[j] = round_clamp(fits[j].offset * idmin, 0, 63);
  }
  // Pack: sub-blocks 0..3 use the low 6 bits of bytes j (scale) and j + 4 (min); 4..7 put their low 4 bits in
  // byte j + 4 and their top 2 bits in the spare top bits of bytes j - 4 (scale) and j (min).
  std::memset(scales, 0, kKScaleBytes);
  for (int j = 0; j < 4; ++j) {
    scales[j] = static_cast<uint8_t>(ls[j]);
    scales[j + 4] = static_cast<uint8_t>(lm[j]);
  }
  for (int j = 4; j < 8; ++j) {
    scales[j + 4] = static_cast<uint8_t>((ls[j] & 15) | ((lm[j] & 15) << 4));
    scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
    scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
  }
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    k_scale_min(scales, j, &sc, &m);
    const float step = d * static_cast<float>(sc);
    const float offset = dmin * static_cast<float>(m);
    const float istep = safe_inverse(step);
    for (int i = 0; i < 32; ++i) codes[32 * j + i] = round_clamp((x[32 * j + i] + offset) * istep, 0, nmax);
  }
}

// When the scales underflow f16 (a block of values around 1e-6 and below) the decoded block can be further from
// x than zeros are; then store the all-zero block (d = dmin = 0), which decodes to exact zeros.
template <typename Block>
void zero_if_worse_than_zero(const float* x, Block* b, void (*dequantize)(const uint8_t*, float*, int64_t)) {
  float y[kQKK];
  dequantize(reinterpret_cast<const uint8_t*>(b), y, kQKK);
  double err = 0, norm = 0;
  for (int i = 0; i < kQKK; ++i) {
    err += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
    norm += static_cast<double>(x[i]) * x[i];
  }
  if (err > norm) *b = Block{};
}

}  // namespace

// ---- dequantization ----

void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const auto b = load_block<BlockQ4_K>(src, i);
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    float* y = dst + i * kQKK;
    for (int c = 0; c < 4; ++c) {  // chunk c: 64 values from 32 bytes of qs
      int sc, m;
      k_scale_min(b.scales, 2 * c, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k_scale_min(b.scales, 2 * c + 1, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      const uint8_t* q = b.qs + 32 * c;
      for (int l = 0; l < 32; ++l) y[64 * c + l] = d1 * static_cast<float>(q[l] & 15) - m1;
      for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const auto b = load_block<BlockQ5_K>(src, i);
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    float* y = dst + i * kQKK;
    for (int c = 0; c < 4; ++c) {
      int sc, m;
      k_scale_min(b.scales, 2 * c, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k_scale_min(b.scales, 2 * c + 1, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      const uint8_t* q = b.qs + 32 * c;
      const int lo_bit = 1 << (2 * c), hi_bit = 1 << (2 * c + 1);
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] & 15) + ((b.qh[l] & lo_bit) ? 16 : 0);
        y[64 * c + l] = d1 * static_cast<float>(v) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] >> 4) + ((b.qh[l] & hi_bit) ? 16 : 0);
        y[64 * c + 32 + l] = d2 * static_cast<float>(v) - m2;
      }
    }
  }
}

void dequantize_q6_k(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const auto b = load_block<BlockQ6_K>(src, i);
    const float d = f16_to_f32(b.d);
    for (int h = 0; h < 2; ++h) {  // 128-value halves
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t* qh = b.qh + 32 * h;
      const int8_t* sc = b.scales + 8 * h;
      float* y = dst + i * kQKK + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

// ---- quantization ----

void quantize_q4_k(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    BlockQ4_K b{};
    int codes[kQKK];
    quantize_k_superblock(src + i * kQKK, 15, &b.d, &b.dmin, b.scales, codes);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * c + l] = static_cast<uint8_t>(codes[64 * c + l] | (codes[64 * c + 32 + l] << 4));
    zero_if_worse_than_zero(src + i * kQKK, &b, dequantize_q4_k);
    store_block(b, dst, i);
  }
}

void quantize_q5_k(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    BlockQ5_K b{};
    int codes[kQKK];
    quantize_k_superblock(src + i * kQKK, 31, &b.d, &b.dmin, b.scales, codes);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = codes[64 * c + l], hi = codes[64 * c + 32 + l];
        b.qs[32 * c + l] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        b.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
    zero_if_worse_than_zero(src + i * kQKK, &b, dequantize_q5_k);
    store_block(b, dst, i);
  }
}

void quantize_q6_k(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float* x = src + i * kQKK;
    BlockQ6_K b{};
    float sub_scales[16];
    float max_scale = 0.0f;  // signed, largest magnitude
    for (int j = 0; j < 16; ++j) {
      sub_scales[j] = search_symmetric(x + 16 * j, 16, 32);
      if (std::fabs(sub_scales[j]) > std::fabs(max_scale)) max_scale = sub_scales[j];
    }
    // The largest sub-block scale maps to int8 -128, the others proportionally.
    b.d = scale_to_f16_covering(max_scale / -128.0f);
    const float d = f16_to_f32(b.d);
    const float id = safe_inverse(d);
    int codes[kQKK];
    for (int j = 0; j < 16; ++j) {
      b.scales[j] = static_cast<int8_t>(round_clamp(sub_scales[j] * id, -128, 127));
      const float istep = safe_inverse(d * static_cast<float>(b.scales[j]));
      for (int l = 0; l < 16; ++l) codes[16 * j + l] = round_clamp(x[16 * j + l] * istep, -32, 31) + 32;
    }
    for (int h = 0; h < 2; ++h) {
      const int* q = codes + 128 * h;
      uint8_t* ql = b.ql + 64 * h;
      uint8_t* qh = b.qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((q[l] & 15) | ((q[l + 64] & 15) << 4));
        ql[l + 32] = static_cast<uint8_t>((q[l + 32] & 15) | ((q[l + 96] & 15) << 4));
        qh[l] = static_cast<uint8_t>((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) |
                                     ((q[l + 96] >> 4) << 6));
      }
    }
    zero_if_worse_than_zero(x, &b, dequantize_q6_k);
    store_block(b, dst, i);
  }
}

}  // namespace qembed::quant_detail
