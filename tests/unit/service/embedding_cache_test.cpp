// The embedding cache's parts on their own: the LRU's byte budget and eviction order, the Redis value format (what
// is accepted back, what is garbage), keys and URLs.
#include "service/embedding_cache.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.hpp"
#include "service/redis_cache.hpp"

namespace qembed::service {
namespace {

std::vector<float> vec(float base, size_t n = 8) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base + static_cast<float>(i) * 0.25f;
  return v;
}

TEST(EmbeddingCache, KeepsTheMostRecentlyUsedWithinItsBudget) {
  ServiceStats stats;
  const int64_t one = EmbeddingCache::entry_bytes(1, 8);
  EmbeddingCache cache(2 * one, &stats);  // room for exactly two entries of a 1-byte key and 8 floats
  cache.put("a", vec(1));
  cache.put("b", vec(2));
  EXPECT_EQ(cache.entries(), 2);
  EXPECT_EQ(cache.bytes(), 2 * one);
  ASSERT_TRUE(cache.get("a"));  // a is now the most recent: b goes first
  cache.put("c", vec(3));
  EXPECT_FALSE(cache.get("b"));
  ASSERT_TRUE(cache.get("a"));
  ASSERT_TRUE(cache.get("c"));
  EXPECT_EQ(*cache.get("c"), vec(3));
  EXPECT_EQ(cache.evictions(), 1);
  EXPECT_EQ(stats.cache_evictions_total.load(), 1);
  EXPECT_EQ(stats.cache_entries.load(), 2);
  EXPECT_EQ(stats.cache_bytes.load(), 2 * one);
  EXPECT_LE(cache.bytes(), cache.budget_bytes());
}

TEST(EmbeddingCache, EvictsAsManyAsAnEntryNeedsAndSkipsOneLargerThanTheBudget) {
  const int64_t small = EmbeddingCache::entry_bytes(1, 8);
  EmbeddingCache cache(3 * small, nullptr);
  cache.put("a", vec(1));
  cache.put("b", vec(2));
  cache.put("c", vec(3));
  cache.put("d", vec(4, 8 + 3 * small / 4));  // more bytes than the whole budget
  EXPECT_FALSE(cache.get("d"));               // larger than the whole budget: not stored, nothing evicted
  EXPECT_EQ(cache.entries(), 3);
  cache.put("e", vec(5, 8 + small / 4));  // about two entries' bytes: the two oldest go
  EXPECT_TRUE(cache.get("e"));
  EXPECT_FALSE(cache.get("a"));
  EXPECT_FALSE(cache.get("b"));
  EXPECT_TRUE(cache.get("c"));
  EXPECT_EQ(cache.evictions(), 2);
  EXPECT_LE(cache.bytes(), cache.budget_bytes());
}

TEST(EmbeddingCache, PuttingAKeyAgainKeepsOneEntry) {
  EmbeddingCache cache(1 << 20, nullptr);
  cache.put("a", vec(1));
  cache.put("a", vec(1));
  EXPECT_EQ(cache.entries(), 1);
  EXPECT_EQ(cache.bytes(), EmbeddingCache::entry_bytes(1, 8));
}

TEST(RedisCacheFormat, ValueRoundTripsBitForBit) {
  const std::vector<float> v = {1.0f, -0.0f, 3.4e38f, 1e-45f, -2.5f};
  const std::string value = RedisCache::encode_value(v);
  ASSERT_EQ(value.size(), 16 + 4 * v.size());
  const std::optional<std::vector<float>> back = RedisCache::decode_value(value, 5);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::memcmp(back->data(), v.data(), 4 * v.size()), 0);
}

TEST(RedisCacheFormat, GarbageIsRefused) {
  const std::vector<float> v = vec(1, 4);
  const std::string good = RedisCache::encode_value(v);
  EXPECT_FALSE(RedisCache::decode_value(good, 5));                // other dims
  EXPECT_FALSE(RedisCache::decode_value(good.substr(0, 20), 4));  // truncated
  EXPECT_FALSE(RedisCache::decode_value("hello", 4));             // not a value
  EXPECT_FALSE(RedisCache::decode_value(good + "x", 4));          // trailing bytes
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_FALSE(RedisCache::decode_value(bad_magic, 4));
  std::string bad_version = good;
  bad_version[4] = 2;
  EXPECT_FALSE(RedisCache::decode_value(bad_version, 4));
  std::vector<float> nan = v;
  nan[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(RedisCache::decode_value(RedisCache::encode_value(nan), 4));
  std::vector<float> inf = v;
  inf[0] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(RedisCache::decode_value(RedisCache::encode_value(inf), 4));
}

TEST(RedisCacheFormat, KeyIsThePrefixAndAFixedSizeDigest) {
  const std::string a = RedisCache::redis_key("qembed:", "some key bytes");
  const std::string b = RedisCache::redis_key("qembed:", std::string(100000, 'x'));
  EXPECT_EQ(a.size(), 7u + 64u);
  EXPECT_EQ(b.size(), 7u + 64u);
  EXPECT_EQ(a.rfind("qembed:", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, RedisCache::redis_key("qembed:", "some key bytes"));
  // SHA-256("abc"), the FIPS 180-2 example.
  EXPECT_EQ(RedisCache::redis_key("", "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RedisAddress, ParsesTcpAndUnixUrls) {
  RedisAddress a = RedisAddress::parse("redis://127.0.0.1:6380/2");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 2);
  a = RedisAddress::parse("redis://:secret@cache.internal");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.password, "secret");
  a = RedisAddress::parse("redis://[::1]:7000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  a = RedisAddress::parse("unix:///run/redis.sock?db=3");
  EXPECT_EQ(a.unix_path, "/run/redis.sock");
  EXPECT_EQ(a.db, 3);
  for (const char* bad : {"localhost:6379", "redis://", "redis://host:99999", "redis://host:x", "unix://relative"}) {
    EXPECT_THROW(RedisAddress::parse(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace qembed::service
