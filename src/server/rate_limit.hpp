#pragma once
// Per-client rate limits (--request-rate-limit, --token-rate-limit): one token bucket per client and limit. A
// bucket holds up to `capacity` (the burst) and refills at `rate_per_s`, computed lazily from a steady clock when a
// client is seen, so no thread runs in the background. A request takes 1 from the requests bucket when it arrives
// and its input tokens from the tokens bucket once they are counted; a refused request takes nothing (and gives its
// request back when its tokens are refused), so the Retry-After a refusal carries is honest: after that many
// seconds the same request passes, unless the client spent the bucket again meanwhile.
//
// Memory: at most `max_clients` clients are tracked (~150 bytes each). A client whose buckets have refilled is the
// same as one never seen, so it is dropped as soon as it is the least recently seen; when the table is full of
// clients that are not refilled, the least recently seen is dropped anyway (forgiving at most one burst), so a flood
// of new addresses costs time, never memory. Limits are per process: N replicas behind a balancer allow N times the
// rate. Thread-safe (one mutex; every operation is O(1)).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/client_identity.hpp"

namespace qembed::server {

using RateClock = std::chrono::steady_clock;

//! One limit: `rate_per_s` refilled per second, at most `capacity` held. rate_per_s == 0: no limit.
struct BucketSpec {
  double rate_per_s = 0;
  double capacity = 0;
  bool enabled() const { return rate_per_s > 0; }
};
//! The limit `rate_per_s` with burst `burst`; burst 0 means one second's worth, at least 1.
BucketSpec bucket_spec(double rate_per_s, double burst);

//! A bucket's level at `updated` (it starts full).
struct BucketState {
  double level = 0;
  RateClock::time_point updated;
};

//! What a take decided.
struct RateVerdict {
  enum class Outcome {
    kAllowed,    //!< taken
    kLimited,    //!< not enough now: retry after retry_after_s
    kNeverFits,  //!< more than the whole burst: it can never pass
  };
  Outcome outcome = Outcome::kAllowed;
  double limit = 0;          //!< the burst (capacity)
  double remaining = 0;      //!< level after the take (allowed) or now (refused)
  double retry_after_s = 0;  //!< kLimited: seconds until the request fits
  double reset_s = 0;        //!< seconds until the bucket is full again
  bool allowed() const { return outcome == Outcome::kAllowed; }
};

//! Refills `state` up to `now`, then takes `n` when it fits. kNeverFits when n > capacity.
RateVerdict take_from_bucket(const BucketSpec& spec, BucketState& state, double n, RateClock::time_point now);

//! Whole seconds for a Retry-After header: rounded up, at least 1.
int64_t retry_after_seconds(double seconds);
//! A duration as OpenAI's x-ratelimit-reset-* headers write it: "250ms", "1s", "1.5s", "2m30s".
std::string reset_duration(double seconds);

struct RateLimits {
  BucketSpec requests;  //!< requests per second per client
  BucketSpec tokens;    //!< input tokens per second per client
  size_t max_clients = 65536;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits);

  bool enabled() const { return limits_.requests.enabled() || limits_.tokens.enabled(); }
  const RateLimits& limits() const { return limits_; }

  //! One request of `client` (always allowed when the request limit is off).
  RateVerdict take_request(const ClientId& client, RateClock::time_point now = RateClock::now());
  //! `n_tokens` of `client` (always allowed when the token limit is off). When refused, the request taken by
  //! take_request() is given back and retry_after_s also covers the requests bucket, so retrying after it passes.
  RateVerdict take_tokens(const ClientId& client, int64_t n_tokens, RateClock::time_point now = RateClock::now());

  //! Clients tracked now.
  size_t tracked_clients() const;
  //! Clients dropped before their buckets had refilled (the table was full): a sign max_clients is too small.
  int64_t evicted_unrefilled() const;

 private:
  struct Entry {
    ClientId id;
    BucketState requests, tokens;
  };
  struct Hash {
    uint64_t seed;
    size_t operator()(const ClientId& id) const;
  };
  using Lru = std::list<Entry>;  // most recently seen first

  Entry& entry_for(const ClientId& client, RateClock::time_point now);  // mu_ held
  bool refilled(const Entry& e, RateClock::time_point now) const;       // both buckets full
  void drop_refilled_tail(RateClock::time_point now);                   // mu_ held

  const RateLimits limits_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<ClientId, Lru::iterator, Hash> index_;
  int64_t evicted_unrefilled_ = 0;
};

}  // namespace qembed::server
