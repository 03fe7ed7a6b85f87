// Token buckets on a fake clock: refill, burst, honest retry times, refusals that take nothing, requests larger than
// the burst, per-client independence, the bound on tracked clients, and many threads at once.
#include "server/rate_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace qembed::server {
namespace {

using Outcome = RateVerdict::Outcome;

const RateClock::time_point t0 = RateClock::time_point{} + std::chrono::hours(1);

RateClock::time_point at(double seconds) {
  return t0 + std::chrono::duration_cast<RateClock::duration>(std::chrono::duration<double>(seconds));
}

ClientId addr(uint8_t last) {
  IpBytes ip{};
  ip[10] = ip[11] = 0xff;
  ip[12] = 192;
  ip[15] = last;
  return ClientId::address(ip);
}

TEST(RateLimit, BucketSpecDefaultsToOneSecondOfBurst) {
  EXPECT_FALSE(bucket_spec(0, 5).enabled());
  EXPECT_DOUBLE_EQ(bucket_spec(10, 0).capacity, 10);
  EXPECT_DOUBLE_EQ(bucket_spec(0.5, 0).capacity, 1);  // at least one request
  EXPECT_DOUBLE_EQ(bucket_spec(10, 3).capacity, 3);
}

TEST(RateLimit, BucketRefillsAtItsRateUpToItsBurst) {
  const BucketSpec spec{2, 4};  // 2/s, burst 4
  BucketState s{4, t0};
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(take_from_bucket(spec, s, 1, t0).allowed()) << i;
  RateVerdict v = take_from_bucket(spec, s, 1, t0);
  EXPECT_EQ(v.outcome, Outcome::kLimited);
  EXPECT_DOUBLE_EQ(v.retry_after_s, 0.5);
  EXPECT_DOUBLE_EQ(v.remaining, 0);
  EXPECT_DOUBLE_EQ(v.reset_s, 2);
  EXPECT_DOUBLE_EQ(v.limit, 4);
  // A refusal takes nothing: 0.25 s later the wait is 0.25 s.
  v = take_from_bucket(spec, s, 1, at(0.25));
  EXPECT_EQ(v.outcome, Outcome::kLimited);
  EXPECT_NEAR(v.retry_after_s, 0.25, 1e-9);
  EXPECT_TRUE(take_from_bucket(spec, s, 1, at(0.5)).allowed());
  // Idle for long: the level stops at the burst.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(take_from_bucket(spec, s, 1, at(100)).allowed()) << i;
  EXPECT_FALSE(take_from_bucket(spec, s, 1, at(100)).allowed());
}

TEST(RateLimit, WaitingTheRetryTimeIsEnough) {
  // Awkward rates and sizes: after the rounded-up Retry-After the same take passes, never before the exact time.
  for (double rate : {0.3, 1.0, 7.0, 1000.0 / 3}) {
    for (double n : {1.0, 3.0, 97.0}) {
      const BucketSpec spec{rate, 100};
      BucketState s{100, t0};
      ASSERT_TRUE(take_from_bucket(spec, s, 100 - n / 2, t0).allowed());
      const RateVerdict v = take_from_bucket(spec, s, n, t0);
      ASSERT_EQ(v.outcome, Outcome::kLimited) << rate << " " << n;
      const int64_t wait_s = retry_after_seconds(v.retry_after_s);
      EXPECT_GE(static_cast<double>(wait_s), v.retry_after_s);
      BucketState early = s;
      EXPECT_FALSE(take_from_bucket(spec, early, n, at(v.retry_after_s * 0.99)).allowed());
      EXPECT_TRUE(take_from_bucket(spec, s, n, at(static_cast<double>(wait_s))).allowed()) << rate << " " << n;
    }
  }
  // Exactly the needed time passes too (the slack absorbs float rounding).
  const BucketSpec spec{0.1, 1};
  BucketState s{0, t0};
  EXPECT_TRUE(take_from_bucket(spec, s, 1, at(10)).allowed());
}

TEST(RateLimit, MoreThanTheBurstNeverFits) {
  const BucketSpec spec{100, 200};
  BucketState s{200, t0};
  const RateVerdict v = take_from_bucket(spec, s, 201, t0);
  EXPECT_EQ(v.outcome, Outcome::kNeverFits);
  EXPECT_DOUBLE_EQ(s.level, 200);  // nothing taken
  EXPECT_TRUE(take_from_bucket(spec, s, 200, t0).allowed());
}

TEST(RateLimit, RetryAfterAndResetFormats) {
  EXPECT_EQ(retry_after_seconds(0.001), 1);
  EXPECT_EQ(retry_after_seconds(1.0), 1);
  EXPECT_EQ(retry_after_seconds(1.0000001), 2);
  EXPECT_EQ(retry_after_seconds(59.5), 60);
  EXPECT_EQ(reset_duration(0), "0ms");
  EXPECT_EQ(reset_duration(0.25), "250ms");
  EXPECT_EQ(reset_duration(1), "1s");
  EXPECT_EQ(reset_duration(1.5), "1.5s");
  EXPECT_EQ(reset_duration(1.05), "1.05s");
  EXPECT_EQ(reset_duration(150.002), "2m30.002s");
}

TEST(RateLimit, ClientsHaveTheirOwnBuckets) {
  RateLimiter limiter({bucket_spec(1, 2), {}});
  EXPECT_TRUE(limiter.take_request(ClientId::api_key(0), t0).allowed());
  EXPECT_TRUE(limiter.take_request(ClientId::api_key(0), t0).allowed());
  const RateVerdict v = limiter.take_request(ClientId::api_key(0), t0);
  EXPECT_EQ(v.outcome, Outcome::kLimited);
  EXPECT_DOUBLE_EQ(v.retry_after_s, 1);
  EXPECT_TRUE(limiter.take_request(ClientId::api_key(1), t0).allowed());
  EXPECT_TRUE(limiter.take_request(addr(1), t0).allowed());
  EXPECT_TRUE(limiter.take_request(ClientId::api_key(0), at(1)).allowed());
  // The token limit is off: every take passes.
  EXPECT_TRUE(limiter.take_tokens(ClientId::api_key(0), 1'000'000, t0).allowed());
}

TEST(RateLimit, RefusedTokensGiveTheRequestBack) {
  RateLimiter limiter({bucket_spec(0.25, 1), bucket_spec(10, 100)});  // 1 request per 4 s; 10 tokens/s
  const ClientId c = addr(1);
  ASSERT_TRUE(limiter.take_request(c, t0).allowed());
  ASSERT_TRUE(limiter.take_tokens(c, 100, t0).allowed());
  ASSERT_TRUE(limiter.take_request(c, at(4)).allowed());
  const RateVerdict v = limiter.take_tokens(c, 100, at(4));  // 40 tokens: 6 s short
  ASSERT_EQ(v.outcome, Outcome::kLimited);
  EXPECT_NEAR(v.retry_after_s, 6, 1e-9);
  EXPECT_DOUBLE_EQ(v.remaining, 40);
  // The refused request did not count: the request bucket has it back at once.
  EXPECT_TRUE(limiter.take_request(c, at(4)).allowed());
  EXPECT_FALSE(limiter.take_request(c, at(4)).allowed());
}

TEST(RateLimit, RequestsLargerThanTheBurstAreRefusedWithoutTakingAnything) {
  RateLimiter limiter({bucket_spec(1, 1), bucket_spec(10, 20)});
  const ClientId c = addr(3);
  ASSERT_TRUE(limiter.take_request(c, t0).allowed());
  EXPECT_EQ(limiter.take_tokens(c, 21, t0).outcome, Outcome::kNeverFits);
  // The request was given back and no token taken.
  EXPECT_TRUE(limiter.take_request(c, t0).allowed());
  EXPECT_TRUE(limiter.take_tokens(c, 20, t0).allowed());
}

TEST(RateLimit, TrackedClientsAreBounded) {
  RateLimiter limiter({bucket_spec(1, 1), {}, /*max_clients=*/100});
  // A flood of new addresses, each spending its bucket: the table never holds more than 100.
  for (int i = 0; i < 10'000; ++i) {
    IpBytes ip{};
    ip[0] = 0x20;
    ip[1] = 0x01;
    ip[4] = static_cast<uint8_t>(i >> 8);
    ip[5] = static_cast<uint8_t>(i);
    ASSERT_TRUE(limiter.take_request(ClientId::address(ip), t0).allowed());
    ASSERT_LE(limiter.tracked_clients(), 100u);
  }
  EXPECT_EQ(limiter.tracked_clients(), 100u);
  EXPECT_EQ(limiter.evicted_unrefilled(), 10'000 - 100);
  // Once they have refilled they are dropped as they are passed over: no debt, no memory.
  for (int i = 0; i < 100; ++i) limiter.take_request(addr(static_cast<uint8_t>(i)), at(10));
  EXPECT_EQ(limiter.evicted_unrefilled(), 10'000 - 100);
}

TEST(RateLimit, IdleClientsAreForgottenWithoutLosingAnything) {
  RateLimiter limiter({bucket_spec(1, 1), {}, 1000});
  for (uint8_t i = 0; i < 50; ++i) ASSERT_TRUE(limiter.take_request(addr(i), t0).allowed());
  EXPECT_EQ(limiter.tracked_clients(), 50u);
  // Each later call drops up to two refilled clients from the least recently seen end.
  for (int i = 0; i < 30; ++i) limiter.take_request(ClientId::api_key(0), at(5 + i));
  EXPECT_LE(limiter.tracked_clients(), 2u);
  EXPECT_EQ(limiter.evicted_unrefilled(), 0);
  // A recent client is kept with its debt.
  ASSERT_TRUE(limiter.take_request(addr(7), at(100)).allowed());
  limiter.take_request(addr(8), at(100.1));
  EXPECT_FALSE(limiter.take_request(addr(7), at(100.2)).allowed());
}

TEST(RateLimit, ManyThreadsTakeExactlyTheBurst) {
  // Requests alone: 4 threads x 1000 tries share a burst of 1000, while other clients churn the table.
  RateLimiter requests({bucket_spec(0.001, 1000), {}, 64});
  // Requests then tokens, as the server takes them: 2500 tokens = 500 takes of 5; every refused token take gives
  // its request back, so no request is ever refused.
  RateLimiter both({bucket_spec(0.001, 1000), bucket_spec(0.001, 2500), 64});
  std::atomic<int> allowed{0}, both_requests{0}, both_tokens{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (requests.take_request(ClientId::api_key(0), t0).allowed()) ++allowed;
        requests.take_request(addr(static_cast<uint8_t>(t * 50 + i % 50)), t0);
        if (both.take_request(ClientId::api_key(0), t0).allowed()) {
          ++both_requests;
          if (both.take_tokens(ClientId::api_key(0), 5, t0).allowed()) ++both_tokens;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_LE(requests.tracked_clients(), 64u);
  EXPECT_EQ(both_tokens.load(), 500);
  EXPECT_EQ(both_requests.load(), 4000);
}

}  // namespace
}  // namespace qembed::server
