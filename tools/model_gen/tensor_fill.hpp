#pragma once
// Produces a tensor's bytes in its target type: rows are generated and encoded in parallel (each row has its own
// generator, so the bytes do not depend on the thread count).
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/thread_pool.hpp"
#include "model_spec.hpp"
#include "weight_rng.hpp"

namespace qembed::model_gen {

// Row `row` of the seeding tensor is drawn with the same Init wherever it is written (token_embd or lm_head, and
// cls.output.weight), so the twins and the GGUF's two copies of a head row agree.
inline const Init& row_init(const TensorSpec& t, int64_t row) {
  for (const RowInit& r : t.row_inits) {
    if (r.row == row) return r.init;
  }
  return t.init;
}

inline void fill_tensor(uint64_t seed, const TensorSpec& t, GgmlType type, uint8_t* dst, ThreadPool& pool) {
  const uint64_t name_hash = fnv1a(t.seed_name.empty() ? t.gguf_name : t.seed_name);
  const size_t row_bytes = ggml_row_bytes(type, t.cols);
  auto work = [&](int64_t row_begin, int64_t row_end) {
    std::vector<float> row(static_cast<size_t>(t.cols));
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t src = t.gather.empty() ? r : t.gather[static_cast<size_t>(r)];
      fill_row(seed, name_hash, src, row_init(t, src), row.data(), t.cols);
      quantize_row_ref(type, row.data(), dst + static_cast<size_t>(r) * row_bytes, t.cols);
    }
  };
  pool.parallel_for(t.rows, [&](int64_t begin, int64_t end, int) { work(begin, end); });
}

}  // namespace qembed::model_gen
