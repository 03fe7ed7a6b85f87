// Load-time repacking of the layer matrices for this CPU's fastest kernels. On AVX-512 VNNI, quantized matrices
// get an int8 copy (kernels/int8_weights.hpp) and the mapped pages of the originals are released from the
// process's resident set, so memory stays about one copy of the weights (the file pages can be re-read if a lower
// SIMD level is selected later).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "model/model.hpp"
#include "model/model_storage.hpp"

namespace qembed {

namespace {

// Drops the whole pages inside [p, p + n) from the resident set (a read-only private file mapping: the data is
// still there and faults back in from the page cache if touched).
void release_pages(const uint8_t* p, size_t n) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace

void repack_for_cpu(Model& model) {
  if (simd_level() < SimdLevel::Avx512Vnni) return;
  std::vector<WeightMatrix*> todo;
  for (LayerWeights& L : model.layers) {
    for (WeightMatrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      if (int8_packable(w->type)) todo.push_back(w);
    }
  }
  if (todo.empty()) return;
  std::vector<std::unique_ptr<Int8Weights>> packed(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) {
    packed[i] = std::make_unique<Int8Weights>(int8_layout_for(*todo[i]));
    packed[i]->allocate();
  }
  // Work items of 64 rows (4 groups) so threads share even one large matrix.
  constexpr int64_t kRowsPerItem = 64;
  std::vector<std::pair<size_t, int64_t>> items;
  for (size_t i = 0; i < todo.size(); ++i)
    for (int64_t o = 0; o < todo[i]->n_out; o += kRowsPerItem) items.emplace_back(i, o);
  // Items left per matrix: whoever packs a matrix's last item releases its file pages at once, so the peak at
  // load is about the packed copies plus the matrices in flight, not the packed copies plus the whole file.
  std::vector<std::atomic<int64_t>> left(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) left[i] = (todo[i]->n_out + kRowsPerItem - 1) / kRowsPerItem;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t it; (it = next.fetch_add(1)) < items.size();) {
      const auto [i, o] = items[it];
      pack_int8_rows(*todo[i], o, std::min(todo[i]->n_out, o + kRowsPerItem), *packed[i]);
      if (left[i].fetch_sub(1) == 1)
        release_pages(todo[i]->data, todo[i]->row_bytes * static_cast<size_t>(todo[i]->n_out));
    }
  };
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < todo.size(); ++i) {
    todo[i]->int8 = packed[i].get();
    model.repacked_bytes += packed[i]->bytes();
    model.storage->int8.push_back(std::move(packed[i]));
  }
}

}  // namespace qembed
