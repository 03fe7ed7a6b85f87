#include "server/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace qembed::server {

namespace {

// A level within this of the tokens asked for counts as enough: after waiting the rounded-up Retry-After a
// request must pass, whatever the floating-point rounding of the refill.
constexpr double kLevelSlack = 1e-9;

uint64_t mix64(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double seconds_until(const BucketSpec& spec, double level, double target) {
  return level >= target ? 0.0 : (target - level) / spec.rate_per_s;
}

}  // namespace

BucketSpec bucket_spec(double rate_per_s, double burst) {
  if (!(rate_per_s > 0)) return {};
  return {rate_per_s, burst > 0 ? burst : std::max(1.0, rate_per_s)};
}

RateVerdict take_from_bucket(const BucketSpec& spec, BucketState& state, double n, RateClock::time_point now) {
  if (now > state.updated) {
    const double dt = std::chrono::duration<double>(now - state.updated).count();
    state.level = std::min(spec.capacity, state.level + dt * spec.rate_per_s);
    state.updated = now;
  }
  RateVerdict v;
  v.limit = spec.capacity;
  if (n > spec.capacity) {
    v.outcome = RateVerdict::Outcome::kNeverFits;
  } else if (state.level + kLevelSlack * std::max(1.0, n) >= n) {
    state.level = std::max(0.0, state.level - n);
  } else {
    v.outcome = RateVerdict::Outcome::kLimited;
    v.retry_after_s = seconds_until(spec, state.level, n);
  }
  v.remaining = state.level;
  v.reset_s = seconds_until(spec, state.level, spec.capacity);
  return v;
}

int64_t retry_after_seconds(double seconds) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds - kLevelSlack)));
}

std::string reset_duration(double seconds) {
  const auto total_ms = static_cast<int64_t>(std::ceil(std::max(0.0, seconds) * 1000));
  if (total_ms < 1000) return std::to_string(total_ms) + "ms";
  std::string out;
  if (total_ms >= 60'000) out = std::to_string(total_ms / 60'000) + "m";
  const int64_t ms = total_ms % 60'000;
  out += std::to_string(ms / 1000);
  if (int64_t frac = ms % 1000; frac != 0) {
    std::string digits = std::to_string(1000 + frac).substr(1);  // three digits, leading zeros kept
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "s";
}

size_t RateLimiter::Hash::operator()(const ClientId& id) const {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = (hi << 8) | id.bytes[i];
    lo = (lo << 8) | id.bytes[8 + i];
  }
  // Seeded per process, so addresses cannot be picked to collide in the table.
  return static_cast<size_t>(mix64(mix64(mix64(seed ^ static_cast<uint64_t>(id.kind)) ^ hi) ^ lo));
}

RateLimiter::RateLimiter(RateLimits limits)
    : limits_(limits),
      index_(16, Hash{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()}) {}

bool RateLimiter::refilled(const Entry& e, RateClock::time_point now) const {
  const auto full = [now](const BucketSpec& spec, const BucketState& s) {
    if (!spec.enabled()) return true;
    const double dt = now > s.updated ? std::chrono::duration<double>(now - s.updated).count() : 0.0;
    return s.level + dt * spec.rate_per_s >= spec.capacity;
  };
  return full(limits_.requests, e.requests) && full(limits_.tokens, e.tokens);
}

void RateLimiter::drop_refilled_tail(RateClock::time_point now) {
  // Two at most per call: enough to keep up with one new client per call, and O(1).
  for (int i = 0; i < 2 && !lru_.empty() && refilled(lru_.back(), now); ++i) {
    index_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

RateLimiter::Entry& RateLimiter::entry_for(const ClientId& client, RateClock::time_point now) {
  drop_refilled_tail(now);
  if (auto it = index_.find(client); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return *it->second;
  }
  if (index_.size() >= std::max<size_t>(1, limits_.max_clients)) {
    if (!refilled(lru_.back(), now)) ++evicted_unrefilled_;
    index_.erase(lru_.back().id);
    lru_.pop_back();
  }
  lru_.push_front(Entry{client, {limits_.requests.capacity, now}, {limits_.tokens.capacity, now}});
  index_.emplace(client, lru_.begin());
  return lru_.front();
}

RateVerdict RateLimiter::take_request(const ClientId& client, RateClock::time_point now) {
  if (!limits_.requests.enabled()) return {};
  std::lock_guard lock(mu_);
  Entry& e = entry_for(client, now);
  return take_from_bucket(limits_.requests, e.requests, 1, now);
}

RateVerdict RateLimiter::take_tokens(const ClientId& client, int64_t n_tokens, RateClock::time_point now) {
  if (!limits_.tokens.enabled()) return {};
  std::lock_guard lock(mu_);
  Entry& e = entry_for(client, now);
  RateVerdict v = take_from_bucket(limits_.tokens, e.tokens, static_cast<double>(n_tokens), now);
  if (!v.allowed() && limits_.requests.enabled()) {
    // The request is refused: it does not count. Retrying must also find a request in the bucket.
    take_from_bucket(limits_.requests, e.requests, 0, now);  // refilled up to now
    e.requests.level = std::min(limits_.requests.capacity, e.requests.level + 1);
    if (v.outcome == RateVerdict::Outcome::kLimited) {
      v.retry_after_s = std::max(v.retry_after_s, seconds_until(limits_.requests, e.requests.level, 1));
    }
  }
  return v;
}

size_t RateLimiter::tracked_clients() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

int64_t RateLimiter::evicted_unrefilled() const {
  std::lock_guard lock(mu_);
  return evicted_unrefilled_;
}

}  // namespace qembed::server
