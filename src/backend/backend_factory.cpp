#include "backend/backend_factory.hpp"

#include "backend/cpu/cpu_backend.hpp"
#include "common/error.hpp"

namespace qembed {

std::unique_ptr<Backend> make_backend(const Model& model, const BackendOptions& options) {
  if (options.device == "cpu") return std::make_unique<CpuBackend>(model, options.n_threads, options.chunk_tokens);
  throw Error("unknown device \"" + options.device + "\"; this build supports: cpu");
}

}  // namespace qembed
