#pragma once
// A persistent pool of worker threads. parallel_for splits [0, n) into contiguous ranges, one per thread, and
// runs them with the calling thread taking part; it returns when all are done. Not re-entrant.
#include <cstdint>
#include <functional>
#include <memory>

namespace qembed {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  //!< n_threads >= 1 (the caller counts as one)
  ~ThreadPool();
  int size() const;
  //! fn(begin, end, thread_index) over a static partition of [0, n) into size() nearly equal parts.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qembed
