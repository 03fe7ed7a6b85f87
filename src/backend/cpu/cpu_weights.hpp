#pragma once
// The model's layer matrices as the CPU kernels take them. Preparing weights is the backend's job, not the model's
// (the model stays a read-only description of the file): at SIMD level avx2 and above (int8_path_at) every quantized
// layer matrix gets an exact int8 copy for the int8 kernels (kernels/int8_weights.hpp), and the file pages of the
// original are released from the resident set as soon as it is packed, so memory stays about one copy of the weights.
// The copies live as long as the CpuWeights (the backend); the kernels get them explicitly (CpuMatrix), never through
// the model.
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/matmul.hpp"
#include "kernels/thread_pool.hpp"
#include "kernels/weight_matrix.hpp"
#include "model/model.hpp"

namespace qembed {

//! One matrix for the CPU kernels: the stored tensor and, where the backend prepared one, its int8 copy.
struct CpuMatrix {
  const WeightMatrix* w = nullptr;    //!< (n_out, n_in) the model's view into the file
  const Int8Weights* int8 = nullptr;  //!< the same weights repacked for int8 dot products, or null (f32 path)
};

//! A layer's projections; shapes as in LayerWeights (model/model.hpp).
struct CpuLayerMatrices {
  CpuMatrix wq;      //!< (q_dim, n_embd)
  CpuMatrix wk;      //!< (kv_dim, n_embd)
  CpuMatrix wv;      //!< (kv_dim, n_embd)
  CpuMatrix wo;      //!< (n_embd, q_dim)
  CpuMatrix w_gate;  //!< (n_ff, n_embd)
  CpuMatrix w_up;    //!< (n_ff, n_embd)
  CpuMatrix w_down;  //!< (n_embd, n_ff)
};

class CpuWeights {
 public:
  //! Prepares `model`'s layer matrices for kernels at `level` (int8 copies only at avx2 and above), packing
  //! on all hardware threads. The model must outlive this object.
  CpuWeights(const Model& model, SimdLevel level);
  ~CpuWeights();
  CpuWeights(const CpuWeights&) = delete;
  CpuWeights& operator=(const CpuWeights&) = delete;

  //! The level the weights were prepared for (the only level their user may run the kernels at).
  SimdLevel level() const { return level_; }
  const CpuLayerMatrices& layer(int64_t l) const { return layers_[static_cast<size_t>(l)]; }
  int64_t n_layer() const { return static_cast<int64_t>(layers_.size()); }
  //! Bytes of the int8 copies (0 below avx2 or for float weights).
  int64_t prepared_bytes() const { return prepared_bytes_; }
  //! File bytes of packed matrices dropped from the resident set (whole pages inside each matrix). They fault back
  //! in from the page cache only if something reads the originals again (e.g. forward_reference).
  int64_t released_file_bytes() const { return released_file_bytes_; }

 private:
  SimdLevel level_;
  std::vector<CpuLayerMatrices> layers_;              // (n_layer)
  std::vector<std::unique_ptr<Int8Weights>> packed_;  // owners of every CpuMatrix::int8
  int64_t prepared_bytes_ = 0;
  int64_t released_file_bytes_ = 0;
};

//! Y = X W^T on the prepared copy where there is one. x: (n_tokens, n_in), y: (n_tokens, n_out).
inline void matmul(const CpuMatrix& m, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, SimdLevel level) {
  matmul(*m.w, m.int8, x, n_tokens, y, pool, level);
}

}  // namespace qembed
