#pragma once
// A read-only view of one weight matrix in its stored format (usually inside an mmapped file). It describes the
// tensor only: copies prepared for a device's kernels (e.g. the CPU backend's int8 repacking) belong to the backend
// that made them and are passed to the kernels explicitly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/ggml_types.hpp"

namespace qembed {

//! W: (n_out, n_in) row-major in the stored type; row o holds the n_in input weights of output o.
//! This is the PyTorch [out, in] layout, which GGUF stores as ne = {n_in, n_out}.
struct WeightMatrix {
  std::string name;            //!< tensor name in the file, for messages
  GgmlType type = GgmlType::F32;
  int64_t n_in = 0;            //!< values per row (ne[0])
  int64_t n_out = 0;           //!< rows (ne[1])
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;        //!< ggml_row_bytes(type, n_in)

  //! Bytes of the whole matrix in the file.
  size_t bytes() const { return row_bytes * static_cast<size_t>(n_out); }
  const uint8_t* row(int64_t o) const { return data + static_cast<size_t>(o) * row_bytes; }
};

}  // namespace qembed
