// Load-time repacking of the layer matrices for this CPU's int8 kernels, on all hardware threads, releasing each
// matrix's file pages as soon as its last rows are packed.
#include "backend/cpu/cpu_weights.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "kernels/matmul_int8.hpp"

namespace qembed {

namespace {

// Drops the whole pages inside [p, p + n) from the resident set and returns their bytes. The mapping is a
// read-only private file mapping: the data is still there and faults back in from the page cache if touched.
int64_t release_pages(const uint8_t* p, size_t n) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end <= begin || ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) != 0) return 0;
  return static_cast<int64_t>(end - begin);
}

}  // namespace

CpuWeights::CpuWeights(const Model& model, SimdLevel level) : level_(level) {
  std::vector<CpuMatrix*> todo;  // the matrices that get an int8 copy
  layers_.reserve(model.layers.size());
  for (const LayerWeights& L : model.layers) {
    layers_.push_back({{&L.wq}, {&L.wk}, {&L.wv}, {&L.wo}, {&L.w_gate}, {&L.w_up}, {&L.w_down}});
  }
  if (!int8_path_at(level_)) return;
  for (CpuLayerMatrices& L : layers_) {
    for (CpuMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      if (int8_packable(m->w->type)) todo.push_back(m);
    }
  }
  if (todo.empty()) return;
  packed_.resize(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) {
    // 4-bit codes two per byte: every int8 kernel set reads that form (int8_weights.hpp).
    packed_[i] = std::make_unique<Int8Weights>(int8_layout_for(*todo[i]->w, /*nibbles=*/true));
    packed_[i]->allocate();
  }
  // Work items of 64 rows (4 groups) so threads share even one large matrix.
  constexpr int64_t kRowsPerItem = 64;
  std::vector<std::pair<size_t, int64_t>> items;
  for (size_t i = 0; i < todo.size(); ++i)
    for (int64_t o = 0; o < todo[i]->w->n_out; o += kRowsPerItem) items.emplace_back(i, o);
  // Items left per matrix: whoever packs a matrix's last item releases its file pages at once, so the peak at
  // load is about the packed copies plus the matrices in flight, not the packed copies plus the whole file.
  std::vector<std::atomic<int64_t>> left(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) left[i] = (todo[i]->w->n_out + kRowsPerItem - 1) / kRowsPerItem;
  std::atomic<size_t> next{0};
  std::atomic<int64_t> released{0};
  auto worker = [&] {
    for (size_t it; (it = next.fetch_add(1)) < items.size();) {
      const auto [i, o] = items[it];
      const WeightMatrix& w = *todo[i]->w;
      pack_int8_rows(w, o, std::min(w.n_out, o + kRowsPerItem), *packed_[i]);
      if (left[i].fetch_sub(1) == 1) released += release_pages(w.data, w.bytes());
    }
  };
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < todo.size(); ++i) {
    todo[i]->int8 = packed_[i].get();
    prepared_bytes_ += static_cast<int64_t>(packed_[i]->bytes());
  }
  released_file_bytes_ = released.load();
}

CpuWeights::~CpuWeights() = default;

}  // namespace qembed
