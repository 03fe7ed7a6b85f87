#pragma once
// An Engine over a CpuBackend with the options the backend tests vary (threads, chunk size, prefix-cache budget),
// keeping a typed handle on the backend for its prepared weights (forward_reference's like-fast arithmetic).
#include <cstdint>
#include <memory>

#include "backend/cpu/cpu_backend.hpp"
#include "engine/engine.hpp"
#include "model/model.hpp"

namespace qembed::testing {

struct CpuEngine {
  std::unique_ptr<Engine> engine;
  CpuBackend* cpu = nullptr;  //!< owned by `engine`

  Engine* operator->() { return engine.get(); }
};

inline CpuEngine make_cpu_engine(const Model& model, int64_t chunk_tokens, int64_t prefix_cache_bytes = 0,
                                 int n_threads = 2) {
  auto backend = std::make_unique<CpuBackend>(model, n_threads, chunk_tokens);
  CpuBackend* cpu = backend.get();
  EngineOptions o;
  o.prefix_cache_bytes = prefix_cache_bytes;
  return {std::make_unique<Engine>(std::move(backend), model.config, o), cpu};
}

}  // namespace qembed::testing
