#pragma once
// Admission control at the HTTP edge: --max-concurrent-requests slots and the response budget. A model request
// takes a slot before its body is parsed and gives it back once its response is written (or its connection is
// gone), so clients that never read their responses hold slots, not unbounded memory; past the limit it is refused
// at once (429). The response budget (--max-response-buffer-mb) bounds the bytes of responses being formatted or
// written: a request reserves its worst case before it is computed. The queue bounds (tokens and inputs admitted)
// are the service's (EmbeddingService::submit). Metrics only read the counts.
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

//! Bytes reserved ahead from a fixed budget (the responses being formatted or written).
class ByteBudget {
 public:
  //! `used` is where the reserved bytes are counted (a metrics gauge reads it).
  ByteBudget(int64_t limit, std::atomic<int64_t>& used) : limit_(limit), used_(used) {}

  enum class Outcome {
    kReserved,  //!< the bytes are held until release()
    kBusy,      //!< they do not fit now; they would once others are released (429)
    kTooLarge,  //!< they exceed the whole budget: never (413)
  };
  Outcome try_reserve(int64_t n) {
    if (n > limit_) return Outcome::kTooLarge;
    int64_t cur = used_.load();
    do {
      if (n > limit_ - cur) return Outcome::kBusy;
    } while (!used_.compare_exchange_weak(cur, cur + n));
    return Outcome::kReserved;
  }
  void release(int64_t n) { used_.fetch_sub(n); }
  int64_t used() const { return used_.load(); }
  int64_t limit() const { return limit_; }

 private:
  const int64_t limit_;
  std::atomic<int64_t>& used_;
};

}  // namespace qembed::server
