#pragma once
// Admission control at the HTTP edge: --max-concurrent-requests slots. A model request takes a slot before its
// body is parsed and gives it back once answered; past the limit it is refused at once (429). The queue bounds
// (tokens and inputs admitted) are the service's (EmbeddingService::submit). Metrics only read the count.
#include <atomic>
#include <cstdint>

namespace qembed::server {

class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int64_t limit) : limit_(limit) {}

  //! Takes a slot; false (nothing taken) when all are in use.
  bool try_acquire() {
    if (in_flight_.fetch_add(1) >= limit_) {
      in_flight_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void release() { in_flight_.fetch_sub(1); }
  //! Slots in use: requests admitted and not yet answered.
  int64_t in_flight() const { return in_flight_.load(); }
  int64_t limit() const { return limit_; }

 private:
  const int64_t limit_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace qembed::server
