// Panel matmul driver. Work is split across threads by panels of nr output rows, so each thread decodes only its
// own weights. Per thread: for each token block (L2-sized) and K-block, each panel is decoded once into a k-major
// f32 scratch and multiplied with every token tile of the block.
// Every token count takes this one path, and the micro-kernels accumulate each output as one FMA chain over k in
// order, whatever the tile holds: a text's vector must not depend on how many others share its batch or chunk. (A
// matrix-vector shortcut for up to 4 tokens, summed in another order, once broke that at AVX-512: the last chunk of
// a batch changed a score in the 9th digit depending on its company.)
#include "kernels/matmul.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/matmul_kernels.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {
namespace detail {

void decode_row_ref(const WeightMatrix& w, int64_t o, int64_t k0, int64_t kc, float* dst) {
  const GgmlTypeInfo& info = ggml_type_info(w.type);
  const uint8_t* src = w.row(o) + static_cast<size_t>(k0 / info.block_values) * info.block_bytes;
  dequantize_row_ref(w.type, src, dst, kc);
}

namespace {

void pack_panel_scalar(const WeightMatrix& w, int64_t o0, int rows, int64_t k0, int64_t kc, float* packed,
                       float* scratch) {
  constexpr int nr = 16;
  for (int r = 0; r < rows; ++r) {
    decode_row_ref(w, o0 + r, k0, kc, scratch);
    for (int64_t k = 0; k < kc; ++k) packed[k * nr + r] = scratch[k];
  }
  for (int r = rows; r < nr; ++r)
    for (int64_t k = 0; k < kc; ++k) packed[k * nr + r] = 0.0f;
}

constexpr int kScalarMr = 4;

void tile_scalar(const float* packed, int64_t kc, const float* x, int mt, float* y, int64_t ldy, int n_valid,
                 bool accumulate) {
  constexpr int nr = 16;
  for (int t = 0; t < mt; ++t) {
    float acc[nr] = {};
    for (int64_t k = 0; k < kc; ++k) {
      const float xv = x[k * kScalarMr + t];
      const float* p = packed + k * nr;
      for (int j = 0; j < nr; ++j) acc[j] += xv * p[j];
    }
    float* yt = y + t * ldy;
    for (int j = 0; j < n_valid; ++j) yt[j] = accumulate ? yt[j] + acc[j] : acc[j];
  }
}

const MatmulKernels& kernels_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512Vnni:
    case SimdLevel::Avx512: return matmul_kernels_avx512();
    case SimdLevel::Avx2: return matmul_kernels_avx2();
    case SimdLevel::Scalar: break;
  }
  return matmul_kernels_scalar();
}

// xpack[tile][k][t] = x[t0 + tile*mr + t][k0 + k]: tiles of mr tokens, each (kc, mr) k-major, so the micro-kernel
// reads its broadcasts sequentially (unpacked, mr rows n_in apart alias the same L1 sets).
void pack_tokens(const float* x, int64_t n_in, int64_t t0, int64_t t1, int64_t k0, int64_t kc, int64_t mr,
                 float* xpack) {
  for (int64_t tile = t0; tile < t1; tile += mr) {
    const int64_t mt = std::min(mr, t1 - tile);
    for (int64_t t = 0; t < mt; ++t) {
      const float* src = x + (tile + t) * n_in + k0;
      for (int64_t k = 0; k < kc; ++k) xpack[k * mr + t] = src[k];
    }
    xpack += kc * mr;
  }
}

// Tokens per block: the X block (kTokenBlock, kMatmulKc) f32 = 256 KiB stays in L2 while panels stream past it.
constexpr int64_t kTokenBlock = 256;

}  // namespace

const MatmulKernels& matmul_kernels_scalar() {
  static const MatmulKernels k{16, kScalarMr, pack_panel_scalar, tile_scalar};
  return k;
}

}  // namespace detail

void matmul_ref(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  std::vector<float> row(static_cast<size_t>(w.n_in));
  for (int64_t o = 0; o < w.n_out; ++o) {
    dequantize_row_ref(w.type, w.row(o), row.data(), w.n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * w.n_in;
      double acc = 0.0;
      for (int64_t k = 0; k < w.n_in; ++k) acc += static_cast<double>(row[k]) * xt[k];
      y[t * w.n_out + o] = static_cast<float>(acc);
    }
  }
}

void matmul(const WeightMatrix& w, const Int8Weights* packed, const float* x, int64_t n_tokens, float* y,
            ThreadPool& pool, SimdLevel requested) {
  if (n_tokens <= 0 || w.n_out <= 0) return;
  const SimdLevel level = simd_level_capped(requested);
  if (packed != nullptr && int8_path_at(level)) return matmul_int8(*packed, x, n_tokens, y, pool, level);
  const detail::MatmulKernels& kern = detail::kernels_for(level);
  const int64_t nr = kern.nr, mr = kern.mr;
  const int64_t n_in = w.n_in, n_out = w.n_out;
  if (n_in == 0) {
    std::fill(y, y + n_tokens * n_out, 0.0f);
    return;
  }
  const int64_t n_panels = (n_out + nr - 1) / nr;
  pool.parallel_for(n_panels, [&](int64_t p_begin, int64_t p_end, int) {
    // Thread-local scratch, reused across calls: packed panel (kc, nr) and decoded rows (nr + 1, kc).
    thread_local std::vector<float> packed, scratch, xpack;
    const size_t need_packed = static_cast<size_t>(detail::kMatmulKc * nr);
    const size_t need_scratch = static_cast<size_t>(detail::kMatmulKc * (nr + 1));
    if (packed.size() < need_packed) packed.resize(need_packed);
    if (scratch.size() < need_scratch) scratch.resize(need_scratch);
    const size_t need_xpack = static_cast<size_t>(((detail::kTokenBlock + mr - 1) / mr) * mr * detail::kMatmulKc);
    if (xpack.size() < need_xpack) xpack.resize(need_xpack);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += detail::kTokenBlock) {
      const int64_t t1 = std::min(n_tokens, t0 + detail::kTokenBlock);
      for (int64_t k0 = 0; k0 < n_in; k0 += detail::kMatmulKc) {
        const int64_t kc = std::min(detail::kMatmulKc, n_in - k0);
        detail::pack_tokens(x, n_in, t0, t1, k0, kc, mr, xpack.data());
        for (int64_t p = p_begin; p < p_end; ++p) {
          const int64_t o0 = p * nr;
          const int rows = static_cast<int>(std::min(nr, n_out - o0));
          kern.pack_panel(w, o0, rows, k0, kc, packed.data(), scratch.data());
          const float* xp = xpack.data();
          for (int64_t t = t0; t < t1; t += mr, xp += kc * mr) {
            const int mt = static_cast<int>(std::min(mr, t1 - t));
            kern.tile(packed.data(), kc, xp, mt, y + t * n_out + o0, n_out, rows, k0 > 0);
          }
        }
      }
    }
  });
}

}  // namespace qembed
