#include "server/api/throttle.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace qembed::server::api {

namespace {

//! 2 -> "2", 0.5 -> "0.5".
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string whole(double v) { return std::to_string(static_cast<int64_t>(std::floor(std::max(0.0, v)))); }

void add_headers(Call& call, const std::string& what, const RateVerdict& v) {
  call.headers.emplace_back("X-RateLimit-Limit-" + what, whole(v.limit));
  call.headers.emplace_back("X-RateLimit-Remaining-" + what, whole(v.remaining));
  call.headers.emplace_back("X-RateLimit-Reset-" + what, reset_duration(v.reset_s));
}

std::string per_client(const BucketSpec& spec, const char* unit) {
  return number(spec.rate_per_s) + " " + unit + " per second with bursts of " + number(spec.capacity) +
         " per client on this server";
}

}  // namespace

void throttle_request(ApiEnv& env, Call& call) {
  if (!env.rate_limiter || !call.client || !env.rate_limiter->limits().requests.enabled()) return;
  const RateVerdict v = env.rate_limiter->take_request(*call.client);
  add_headers(call, "Requests", v);
  if (v.allowed()) return;
  env.metrics.rate_limited(RateLimitKind::kRequests);
  const int64_t retry_s = retry_after_seconds(v.retry_after_s);
  ApiError e(Failure::kRateLimited, "rate limit reached for " + call.client->describe() +
                                        " on requests: " + per_client(env.rate_limiter->limits().requests, "requests") +
                                        " (--request-rate-limit); retry in " + std::to_string(retry_s) + " s");
  e.type = "requests";
  e.retry_after_s = retry_s;
  throw e;
}

void throttle_tokens(ApiEnv& env, Call& call, int64_t n_tokens) {
  if (!env.rate_limiter || !call.client || !env.rate_limiter->limits().tokens.enabled()) return;
  const BucketSpec& spec = env.rate_limiter->limits().tokens;
  const RateVerdict v = env.rate_limiter->take_tokens(*call.client, n_tokens);
  add_headers(call, "Tokens", v);
  if (v.allowed()) return;
  if (v.outcome == RateVerdict::Outcome::kNeverFits) {
    throw ApiError(
        Failure::kTooLarge,
        "this request has " + std::to_string(n_tokens) +
            " input tokens, more than the token rate limit ever allows at once: " + per_client(spec, "tokens") +
            " (--token-rate-limit, --token-rate-burst); send at most " + whole(spec.capacity) + " tokens a request");
  }
  env.metrics.rate_limited(RateLimitKind::kTokens);
  const int64_t retry_s = retry_after_seconds(v.retry_after_s);
  ApiError e(Failure::kRateLimited, "rate limit reached for " + call.client->describe() +
                                        " on input tokens: " + "this request has " + std::to_string(n_tokens) +
                                        ", the limit is " + per_client(spec, "tokens") +
                                        " (--token-rate-limit); retry in " + std::to_string(retry_s) + " s");
  e.type = "tokens";
  e.retry_after_s = retry_s;
  throw e;
}

}  // namespace qembed::server::api
