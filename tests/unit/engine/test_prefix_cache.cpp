// The prefix cache alone, on backend-agnostic entries: longest leading run of ids, capped, minimum match, LRU
// eviction within the byte budget the backend's entry sizes add up to.
#include <gtest/gtest.h>

#include "engine/prefix_cache.hpp"
#include "fake_backend.hpp"

namespace qembed {
namespace {

using testing::FakePrefixEntry;

std::shared_ptr<PrefixEntry> entry(std::vector<int32_t> ids) {
  return std::make_shared<FakePrefixEntry>(std::move(ids));
}

TEST(PrefixCache, LongestCommonPrefixWinsAndIsCapped) {
  PrefixCache cache(1 << 20);
  cache.insert(entry({1, 2, 3, 4, 5, 6}));
  cache.insert(entry({1, 2, 3, 4, 9, 9, 9, 9}));
  PrefixMatch m = cache.find(std::vector<int32_t>{1, 2, 3, 4, 9, 9, 1}, 100);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.n_tokens, 6);
  EXPECT_EQ(m.entry->ids.size(), 8u);
  m = cache.find(std::vector<int32_t>{1, 2, 3, 4, 5, 7}, 100);
  EXPECT_EQ(m.n_tokens, 5);
  EXPECT_EQ(m.entry->ids.size(), 6u);
  EXPECT_EQ(cache.find(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7}, 4).n_tokens, 4) << "capped by max_tokens";
  EXPECT_FALSE(cache.find(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 3)) << "capped below the minimum match";
  EXPECT_FALSE(cache.find(std::vector<int32_t>{1, 2, 3, 7, 7, 7}, 100)) << "3 common ids: below the minimum";
  EXPECT_FALSE(cache.find(std::vector<int32_t>{2, 2, 3, 4, 5, 6}, 100));
}

TEST(PrefixCache, LeastRecentlyUsedIsEvictedToStayWithinBudget) {
  const int64_t six = 6 * FakePrefixEntry::kBytesPerToken;
  PrefixCache cache(2 * six + 50);  // room for two 6-token entries
  const std::vector<int32_t> a = {1, 2, 3, 4, 5, 6}, b = {11, 12, 13, 14, 15, 16}, c = {21, 22, 23, 24, 25, 26};
  cache.insert(entry(a));
  cache.insert(entry(b));
  EXPECT_EQ(cache.n_entries(), 2);
  EXPECT_EQ(cache.bytes(), 2 * six);
  ASSERT_TRUE(cache.find(a, 6));  // a is now the most recently used: b goes first
  cache.insert(entry(c));
  EXPECT_EQ(cache.n_entries(), 2);
  EXPECT_EQ(cache.evictions(), 1);
  EXPECT_EQ(cache.bytes(), 2 * six);
  EXPECT_TRUE(cache.find(a, 6));
  EXPECT_FALSE(cache.find(b, 6));
  EXPECT_TRUE(cache.find(c, 6));

  cache.insert(entry(std::vector<int32_t>(30, 7)));  // larger than the whole budget: not stored, nothing evicted
  EXPECT_EQ(cache.n_entries(), 2);
  EXPECT_EQ(cache.evictions(), 1);
  cache.insert(entry(c));  // the same ids again replace the old copy
  EXPECT_EQ(cache.n_entries(), 2);
  EXPECT_EQ(cache.bytes(), 2 * six);
  // An entry twice as large evicts both.
  cache.insert(entry({31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42}));
  EXPECT_EQ(cache.n_entries(), 1);
  EXPECT_LE(cache.bytes(), cache.budget_bytes());
}

TEST(PrefixCache, FitsIsBudgetOnly) {
  PrefixCache cache(1000);
  EXPECT_TRUE(cache.fits(1000));
  EXPECT_FALSE(cache.fits(1001));
  EXPECT_FALSE(cache.fits(0));
}

TEST(PrefixCache, ZeroBudgetStoresNothing) {
  PrefixCache cache(0);
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.fits(4 * FakePrefixEntry::kBytesPerToken));
  cache.insert(entry({1, 2, 3, 4, 5}));
  EXPECT_EQ(cache.n_entries(), 0);
  EXPECT_EQ(cache.bytes(), 0);
  EXPECT_FALSE(cache.find(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 5));
}

}  // namespace
}  // namespace qembed
