// Micro-benchmark of matmul() and attention_tiled() on the Qwen3-Embedding-0.6B projection shapes, per weight type.
// Usage: bench-kernels [n_threads=2] [n_tokens=256] [types=F32,F16,...] [attention T list=256,2048,8192] [compare]
//   (QEMBED_SIMD caps the SIMD level; "compare" also times the one-query-at-a-time attention kernels;
//   QEMBED_BENCH_NIBBLES=0 keeps 4-bit codes one per byte where the backend would pack two, to compare the forms)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "kernels/attention.hpp"
#include "kernels/attention_kernels.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/int8_weights.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/quant_blocks.hpp"

using namespace qembed;

namespace {

struct Shape {
  const char* what;
  int64_t n_in, n_out;
};

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds of this process (all threads): on a shared machine, flop per CPU-second shows per-core efficiency.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  const int n_threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t n_tokens = argc > 2 ? std::atoll(argv[2]) : 256;
  std::string type_list = argc > 3 ? argv[3] : "F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q4_K,Q5_K,Q6_K";
  const Shape shapes[] = {{"q/gate-like 1024->2048", 1024, 2048},
                          {"o/k-like 1024->1024", 1024, 1024},
                          {"up/gate 1024->3072", 1024, 3072},
                          {"down 3072->1024", 3072, 1024}};
  ThreadPool pool(n_threads);
  std::printf("simd=%s threads=%d n_tokens=%lld\n", simd_level_name(simd_level()), n_threads,
              static_cast<long long>(n_tokens));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  size_t pos = 0;
  while (pos <= type_list.size()) {
    const size_t comma = std::min(type_list.find(',', pos), type_list.size());
    const std::string name = type_list.substr(pos, comma - pos);
    pos = comma + 1;
    const auto type = ggml_type_from_name(name);
    if (!type) {
      std::fprintf(stderr, "unknown type %s\n", name.c_str());
      return 2;
    }
    double total_flop = 0.0, total_s = 0.0, total_cpu_s = 0.0;
    for (const Shape& sh : shapes) {
      WeightMatrix w;
      w.name = sh.what;
      w.type = *type;
      w.n_in = sh.n_in;
      w.n_out = sh.n_out;
      w.row_bytes = ggml_row_bytes(*type, sh.n_in);
      std::vector<uint8_t> bytes(w.row_bytes * sh.n_out);
      std::vector<float> row(sh.n_in);
      for (int64_t o = 0; o < sh.n_out; ++o) {
        for (auto& v : row) v = dist(rng) * 0.05f;
        quantize_row_ref(*type, row.data(), bytes.data() + o * w.row_bytes, sh.n_in);
      }
      w.data = bytes.data();
      std::vector<float> x(n_tokens * sh.n_in), y(n_tokens * sh.n_out);
      for (auto& v : x) v = dist(rng);
      // Quantized types run as the CPU backend runs them: on their int8 copy where the level has the int8 path.
      static const bool nibbles_allowed = std::getenv("QEMBED_BENCH_NIBBLES") == nullptr ||
                                          std::string(std::getenv("QEMBED_BENCH_NIBBLES")) != "0";
      const auto packed =
          int8_packable(*type) && int8_path_at(simd_level()) ? pack_int8(w, nibbles_allowed) : nullptr;
      matmul(w, packed.get(), x.data(), n_tokens, y.data(), pool);  // warm-up
      const double flop = 2.0 * n_tokens * sh.n_in * sh.n_out;
      int reps = std::max(1, static_cast<int>(2e10 / flop / 10));
      double best = 1e30;
      const double cpu0 = cpu_seconds();
      for (int r = 0; r < reps; ++r) {
        const double t0 = seconds_now();
        matmul(w, packed.get(), x.data(), n_tokens, y.data(), pool);
        best = std::min(best, seconds_now() - t0);
      }
      const double cpu_per_call = (cpu_seconds() - cpu0) / reps;
      total_flop += flop;
      total_s += best;
      total_cpu_s += cpu_per_call;
      std::printf("  %-5s %-24s %8.2f ms  %7.1f GFLOP/s  (%6.1f GFLOP per CPU-second)\n", name.c_str(), sh.what,
                  best * 1e3, flop / best * 1e-9, flop / cpu_per_call * 1e-9);
    }
    std::printf("%-5s all shapes: %7.1f GFLOP/s  (%6.1f GFLOP per CPU-second)\n", name.c_str(),
                total_flop / total_s * 1e-9, total_flop / total_cpu_s * 1e-9);
  }
  {
    // Attention of one 0.6B layer (16 query heads, 8 kv heads, head_dim 128), full causal over T tokens, split like
    // the engine into (32-query tile x head) items, dealt round-robin to the threads.
    // Causal flop per head: 2 (QK^T and PV) x 2 (multiply-add) x head_dim x T(T+1)/2.
    const AttentionShape as{16, 8, 128};
    std::string t_list = argc > 4 ? argv[4] : "256,2048,8192";
    const bool compare = argc > 5 && std::string(argv[5]) == "compare";
    size_t tp = 0;
    while (tp < t_list.size()) {
      const size_t comma = std::min(t_list.find(',', tp), t_list.size());
      const int64_t T = std::atoll(t_list.substr(tp, comma - tp).c_str());
      tp = comma + 1;
      if (T <= 0) continue;
      std::vector<float> q(T * 16 * 128), k(T * 8 * 128), v(k.size()), out(q.size());
      for (auto* buf : {&q, &k, &v})
        for (auto& x : *buf) x = dist(rng);
      struct Item {
        int64_t q0, q1, h;
      };
      std::vector<Item> items;
      for (int64_t t = 0; t < T; t += 32)
        for (int64_t h = 0; h < as.n_head; ++h) items.push_back({t, std::min(T, t + 32), h});
      auto run = [&] {
        pool.parallel_for(pool.size(), [&](int64_t t0, int64_t t1, int) {
          for (int64_t th = t0; th < t1; ++th)
            for (size_t i = static_cast<size_t>(th); i < items.size(); i += static_cast<size_t>(pool.size()))
              attention_tiled(as, q.data(), T, 0, k.data(), v.data(), T, out.data(), items[i].q0, items[i].q1,
                              items[i].h, items[i].h + 1);
        });
      };
      const double flop = 4.0 * as.n_head * as.head_dim * (T * (T + 1) / 2.0);
      for (int variant = compare ? 0 : 1; variant < 2; ++variant) {
        detail::set_attention_blocked(variant == 1);
        const int reps = std::max(1, std::min(10, static_cast<int>(1e11 / flop)));
        if (reps > 1) run();  // warm-up
        double best = 1e30;
        const double cpu0 = cpu_seconds();
        for (int r = 0; r < reps; ++r) {
          const double t0 = seconds_now();
          run();
          best = std::min(best, seconds_now() - t0);
        }
        const double cpu_per_call = (cpu_seconds() - cpu0) / reps;
        std::printf("attention 16x8x128 T=%-5lld %-7s %9.2f ms  %7.1f GFLOP/s  (%6.1f GFLOP per CPU-second)\n",
                    static_cast<long long>(T), variant == 1 ? "blocked" : "rows", best * 1e3, flop / best * 1e-9,
                    flop / cpu_per_call * 1e-9);
      }
      detail::set_attention_blocked(true);
    }
  }
  return 0;
}
