// Load-time repacking of the layer matrices for this CPU's fastest kernels. On AVX-512 VNNI, quantized matrices
// get an int8 copy (kernels/int8_weights.hpp); on AVX-512 BF16, BF16 matrices get a vdpbf16ps-ordered copy
// (kernels/bf16_weights.hpp). The mapped pages of the originals are released from the
// process's resident set, so memory stays about one copy of the weights (the file pages can be re-read if a lower
// SIMD level is selected later).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "kernels/bf16_weights.hpp"
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
  const SimdLevel level = simd_level();
  const bool int8 = level >= SimdLevel::Avx512Vnni, bf16 = level >= SimdLevel::Avx512Bf16;
  if (!int8 && !bf16) return;
  // One job per matrix: its packed copy (allocated up front) and how to fill a range of its rows.
  struct Job {
    WeightMatrix* w;
    std::unique_ptr<Int8Weights> i8;
    std::unique_ptr<Bf16Weights> b16;
    void pack(int64_t o0, int64_t o1) {
      if (i8) pack_int8_rows(*w, o0, o1, *i8);
      else pack_bf16_rows(*w, o0, o1, *b16);
    }
  };
  std::vector<Job> jobs;
  for (LayerWeights& L : model.layers) {
    for (WeightMatrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      Job job{w, nullptr, nullptr};
      if (int8 && int8_packable(w->type)) {
        job.i8 = std::make_unique<Int8Weights>(int8_layout_for(*w));
        job.i8->allocate();
      } else if (bf16 && bf16_packable(w->type)) {
        job.b16 = std::make_unique<Bf16Weights>(bf16_layout_for(*w));
        job.b16->allocate();
      } else {
        continue;
      }
      jobs.push_back(std::move(job));
    }
  }
  if (jobs.empty()) return;
  // Work items of 64 rows (4 groups) so threads share even one large matrix.
  constexpr int64_t kRowsPerItem = 64;
  std::vector<std::pair<size_t, int64_t>> items;
  for (size_t i = 0; i < jobs.size(); ++i)
    for (int64_t o = 0; o < jobs[i].w->n_out; o += kRowsPerItem) items.emplace_back(i, o);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t it; (it = next.fetch_add(1)) < items.size();) {
      const auto [i, o] = items[it];
      jobs[i].pack(o, std::min(jobs[i].w->n_out, o + kRowsPerItem));
    }
  };
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (Job& job : jobs) {
    WeightMatrix& w = *job.w;
    if (job.i8) {
      w.int8 = job.i8.get();
      model.repacked_bytes += job.i8->bytes();
      model.storage->int8.push_back(std::move(job.i8));
    } else {
      w.bf16 = job.b16.get();
      model.repacked_bytes += job.b16->bytes();
      model.storage->bf16.push_back(std::move(job.b16));
    }
    release_pages(w.data, w.row_bytes * static_cast<size_t>(w.n_out));
  }
}

}  // namespace qembed
