// Fork/join pool: a generation counter announces each job; workers spin briefly on it (jobs in a forward pass
// come back to back) and then sleep on it with std::atomic::wait (a futex on Linux).
#include "kernels/thread_pool.hpp"

#include <immintrin.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace qembed {
namespace {
// Spin phase before sleeping: jobs of a forward pass come back to back, so a short spin saves a futex wake-up;
// yielding inside it keeps an oversubscribed machine (more threads than free cores) from stalling.
constexpr int kSpinIterations = 4000;
constexpr int kPausesPerYield = 64;

inline void spin_pause(int spin) {
  if (spin % kPausesPerYield == kPausesPerYield - 1) std::this_thread::yield();
  else _mm_pause();
}
}

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};  // workers still running the current job
  std::atomic<bool> stop{false};
  const std::function<void(int64_t, int64_t, int)>* job = nullptr;
  int64_t job_n = 0;
  std::mutex error_mutex;
  std::exception_ptr error;

  void run_part(int thread) {
    const int64_t begin = job_n * thread / n_threads;
    const int64_t end = job_n * (thread + 1) / n_threads;
    if (begin >= end) return;
    try {
      (*job)(begin, end, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }

  void worker_loop(int thread) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation.load(std::memory_order_acquire);
      for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
        spin_pause(spin);
        g = generation.load(std::memory_order_acquire);
      }
      while (g == seen) {
        generation.wait(seen, std::memory_order_acquire);
        g = generation.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop.load(std::memory_order_acquire)) return;
      run_part(thread);
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(std::make_unique<Impl>()) {
  impl_->n_threads = n_threads < 1 ? 1 : n_threads;
  for (int t = 1; t < impl_->n_threads; ++t) impl_->workers.emplace_back([this, t] { impl_->worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  impl_->stop.store(true, std::memory_order_release);
  impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  impl_->generation.notify_all();
  for (auto& w : impl_->workers) w.join();
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  Impl& p = *impl_;
  if (n <= 0) return;
  if (p.n_threads == 1) {
    fn(0, n, 0);
    return;
  }
  p.job = &fn;
  p.job_n = n;
  p.error = nullptr;
  p.remaining.store(p.n_threads - 1, std::memory_order_relaxed);
  p.generation.fetch_add(1, std::memory_order_acq_rel);
  p.generation.notify_all();
  p.run_part(0);
  int left = p.remaining.load(std::memory_order_acquire);
  for (int spin = 0; left != 0 && spin < kSpinIterations; ++spin) {
    spin_pause(spin);
    left = p.remaining.load(std::memory_order_acquire);
  }
  while (left != 0) {
    p.remaining.wait(left, std::memory_order_acquire);
    left = p.remaining.load(std::memory_order_acquire);
  }
  p.job = nullptr;
  if (p.error) {
    std::exception_ptr e = p.error;
    p.error = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace qembed
