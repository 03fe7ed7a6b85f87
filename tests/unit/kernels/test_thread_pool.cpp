// ThreadPool: partition covers [0, n) exactly once, many tiny back-to-back jobs, exceptions reach the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/thread_pool.hpp"

namespace qembed {
namespace {

TEST(ThreadPool, PartitionCoversRangeOncePerThreadCount) {
  for (int n_threads : {1, 2, 3, 5}) {
    ThreadPool pool(n_threads);
    EXPECT_EQ(pool.size(), n_threads);
    for (int64_t n : {0, 1, 2, 3, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::vector<std::atomic<int>> per_thread(static_cast<size_t>(n_threads));
      pool.parallel_for(n, [&](int64_t b, int64_t e, int thread) {
        ASSERT_GE(thread, 0);
        ASSERT_LT(thread, n_threads);
        ASSERT_LT(b, e);
        per_thread[thread]++;
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      for (auto& c : per_thread) ASSERT_LE(c.load(), 1);
    }
  }
}

TEST(ThreadPool, ManyTinyJobsBackToBack) {
  ThreadPool pool(3);  // more threads than this machine may have free cores: must not stall
  std::vector<int64_t> sums(3, 0);
  int64_t expected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    const int64_t n = 1 + iter % 5;
    std::fill(sums.begin(), sums.end(), 0);
    pool.parallel_for(n, [&](int64_t b, int64_t e, int thread) {
      for (int64_t i = b; i < e; ++i) sums[thread] += i + iter;
    });
    int64_t total = sums[0] + sums[1] + sums[2];
    expected = n * (n - 1) / 2 + n * iter;
    ASSERT_EQ(total, expected) << "iter " << iter;
  }
}

TEST(ThreadPool, TinyJobOverheadIsSmall) {
  ThreadPool pool(2);
  std::atomic<int64_t> count{0};
  const auto t0 = std::chrono::steady_clock::now();
  const int n_calls = 20000;
  for (int i = 0; i < n_calls; ++i) pool.parallel_for(2, [&](int64_t b, int64_t e, int) { count += e - b; });
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(count.load(), 2 * n_calls);
  RecordProperty("us_per_call", std::to_string(us / n_calls));
  std::printf("parallel_for overhead: %.2f us/call (2 threads)\n", us / n_calls);
}

TEST(ThreadPool, ResultsVisibleToCallerAfterReturn) {
  ThreadPool pool(2);
  std::vector<int> data(1 << 16);
  for (int round = 0; round < 200; ++round) {
    pool.parallel_for(static_cast<int64_t>(data.size()), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) data[i] = round;
    });
    for (int v : data) ASSERT_EQ(v, round);
  }
}

TEST(ThreadPool, WorkerExceptionIsRethrownAndPoolStaysUsable) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10, [](int64_t, int64_t, int thread) {
    if (thread == 1) throw std::runtime_error("boom");
  }),
               std::runtime_error);
  std::atomic<int64_t> count{0};
  pool.parallel_for(10, [&](int64_t b, int64_t e, int) { count += e - b; });
  EXPECT_EQ(count.load(), 10);
}

TEST(ThreadPool, IdlePoolSleepsAndWakes) {
  ThreadPool pool(2);
  std::atomic<int64_t> count{0};
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // past the spin phase: workers wait on a futex
    pool.parallel_for(4, [&](int64_t b, int64_t e, int) { count += e - b; });
  }
  EXPECT_EQ(count.load(), 12);
}

}  // namespace
}  // namespace qembed
