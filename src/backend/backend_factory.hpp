#pragma once
// Picks and builds the backend a model computes on. The one place above the engine that names concrete backends;
// the service calls it, nothing else does.
#include <memory>
#include <string>

#include "engine/backend.hpp"
#include "model/model.hpp"

namespace qembed {

struct BackendOptions {
  std::string device = "cpu";  //!< "cpu" (a CUDA backend will add "cuda[:N]")
  int n_threads = 0;           //!< CPU compute threads; 0: all hardware threads
  int64_t chunk_tokens = 512;  //!< activation chunk inside a batch (bounds per-chunk scratch)
};

//! Prepares `model`'s weights for the device (e.g. int8 repacking on CPUs with AVX-512 VNNI; the model itself is
//! never changed) and returns the backend. The model must outlive it. Throws Error for an unknown device, or for
//! the CPU an invalid QEMBED_SIMD.
std::unique_ptr<Backend> make_backend(const Model& model, const BackendOptions& options);

}  // namespace qembed
