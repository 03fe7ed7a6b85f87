// Prefix reuse: a sequence started from cached K/V must embed exactly like the full computation, whatever it shares
// with the entry and whatever else is in its batch; and the cache must keep to its byte budget.
#include <gtest/gtest.h>

#include <random>

#include "engine/embedder.hpp"
#include "engine/embedding_options.hpp"
#include "engine/forward_reference.hpp"
#include "engine/prefix_cache.hpp"
#include "model/model.hpp"
#include "test_model_fixture.hpp"
#include "test_vectors.hpp"

namespace qembed {
namespace {

using testing::cosine;
using testing::random_ids;

std::vector<int32_t> join(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<int32_t> head(const std::vector<int32_t>& v, size_t n) { return {v.begin(), v.begin() + n}; }

//! Random ids whose first one differs from `not_first`, so a match with an entry ends exactly where intended.
std::vector<int32_t> fresh(std::mt19937& rng, int n, int32_t not_first = -1) {
  std::vector<int32_t> t = random_ids(rng, n);
  if (t[0] == not_first) t[0] = (t[0] + 1) % 151000;
  return t;
}

EmbedderOptions small_chunks(int64_t cache_bytes) {
  EmbedderOptions o;
  o.n_threads = 2;
  o.chunk_tokens = 8;  // chunks cross sequence boundaries and start inside cached and computed positions
  o.prefix_cache_bytes = cache_bytes;
  return o;
}

class PrefixForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PrefixForwardTest, CachedPrefixEqualsFullComputationInMixedBatches) {
  const std::string type = GetParam();
  auto model = Model::load(testing::generated_model("engine-tiny-seed11-" + type + ".gguf",
                                                    "--shape tiny --format gguf --seed 11 --type " + type));
  const int32_t eos = model->tokenizer->eos_id();
  std::mt19937 rng(21);
  const std::vector<int32_t> a = random_ids(rng, 24);
  const std::vector<int32_t> b = random_ids(rng, 12);
  // Shares its first 10 ids with `a`: its entry is computed on top of a's.
  const std::vector<int32_t> c = join({head(a, 10), fresh(rng, 9, a[10])});

  Embedder cached(*model, small_chunks(int64_t{64} << 20));
  EXPECT_EQ(cached.remember_prefix(a), PrefixStatus::kComputed);
  EXPECT_EQ(cached.remember_prefix(a), PrefixStatus::kCached) << "an entry already covers it";
  EXPECT_EQ(cached.remember_prefix(head(a, 15)), PrefixStatus::kCached) << "a prefix of an entry is covered by it";
  EXPECT_EQ(cached.remember_prefix(b), PrefixStatus::kComputed);
  EXPECT_EQ(cached.remember_prefix(c), PrefixStatus::kComputed);
  EXPECT_EQ(cached.remember_prefix(head(b, 3)), PrefixStatus::kNotCacheable) << "shorter than the minimum match";
  EXPECT_EQ(cached.prefix_stats().entries_computed, 3);
  EXPECT_EQ(cached.prefix_cache().n_entries(), 3);

  struct Case {
    std::vector<int32_t> seq;
    int64_t reused;
    const char* what;
  };
  const std::vector<Case> cases = {
      {join({a, fresh(rng, 10), {eos}}), 24, "the whole entry"},
      {join({fresh(rng, 30, a[0]), {eos}}), 0, "no match"},
      {join({head(a, 15), fresh(rng, 8, a[15]), {eos}}), 15, "match shorter than the entry"},
      {join({a, {eos}}), 24, "the prefix plus one token"},
      {head(a, 12), 11, "shorter than the entry: all but the last token"},
      {a, 23, "equal to the entry: all but the last token"},
      {join({b, fresh(rng, 40), {eos}}), 12, "another entry"},
      {join({c, fresh(rng, 5), {eos}}), 19, "an entry computed on top of another"},
      {join({head(a, 3), fresh(rng, 20, a[3]), {eos}}), 0, "below the minimum match"},
      {head(a, 5), 4, "five ids: the minimum match"},
  };
  std::vector<std::vector<int32_t>> seqs;
  for (const Case& k : cases) seqs.push_back(k.seq);

  std::vector<int64_t> reused;
  const std::vector<std::vector<float>> got = cached.embed(seqs, &reused);
  Embedder plain(*model, small_chunks(0));
  const std::vector<std::vector<float>> want = plain.embed(seqs);
  ASSERT_EQ(got.size(), cases.size());
  int64_t reused_total = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].what);
    EXPECT_EQ(reused[i], cases[i].reused);
    reused_total += reused[i];
    EXPECT_GT(cosine(got[i], want[i]), 0.99999);
    // The reference in the fast pass's arithmetic (int8 activation rounding where this CPU uses it, where a
    // last-ulp difference can flip a code: 0.99995; see test_forward.cpp).
    EXPECT_GT(cosine(got[i], forward_reference(*model, seqs[i], ReferenceMatmul::kLikeFast)),
              model->repacked_bytes > 0 ? 0.99995 : 0.99999);
    std::vector<int64_t> alone_reused;
    EXPECT_GT(cosine(got[i], cached.embed({seqs[i]}, &alone_reused)[0]), 0.99999) << "batch invariance";
    EXPECT_EQ(alone_reused[0], cases[i].reused);
  }
  EXPECT_EQ(cached.prefix_stats().tokens_reused, 2 * reused_total);
}

INSTANTIATE_TEST_SUITE_P(Types, PrefixForwardTest, ::testing::Values("F32", "Q8_0", "Q4_K_M"));

TEST(PrefixForward, RealPromptReusedAcrossTheTokenizationBoundary) {
  auto model = Model::load(
      testing::generated_model("engine-tiny-seed11-F32.gguf", "--shape tiny --format gguf --seed 11 --type F32"));
  Embedder cached(*model, small_chunks(int64_t{64} << 20));
  Embedder plain(*model, small_chunks(0));
  const std::vector<int32_t> prompt = model->tokenizer->encode(format_instruction(kDefaultQueryTask, ""));
  ASSERT_EQ(cached.remember_prefix(prompt), PrefixStatus::kComputed);
  // "Query:" followed by "x", "The" or "a" tokenizes as "Query" ":x" (the prompt alone ends "Query" ":"): matching
  // on ids still reuses all but that token. "what", " spaced" and "42" keep ":" apart: the whole prompt is reused.
  std::vector<std::vector<int32_t>> seqs;
  int64_t i = 0;
  for (const char* q : {"what is the capital of China?", "The sky", " spaced", "42 answers", "x", "a"}) {
    seqs.push_back(cached.tokenize(format_instruction(kDefaultQueryTask, q), false, i++));
  }
  seqs.push_back(cached.tokenize("a document without any prompt", false, i++));
  std::vector<int64_t> reused;
  const auto got = cached.embed(seqs, &reused);
  const auto want = plain.embed(seqs);
  const auto p = static_cast<int64_t>(prompt.size());
  const std::vector<int64_t> expected = {p, p - 1, p, p, p - 1, p - 1};
  for (size_t j = 0; j + 1 < seqs.size(); ++j) {
    EXPECT_EQ(reused[j], expected[j]) << "query " << j;
    EXPECT_GT(cosine(got[j], want[j]), 0.99999) << "query " << j;
  }
  EXPECT_EQ(reused.back(), 0);
  EXPECT_GT(cosine(got.back(), want.back()), 0.99999);
}

TEST(PrefixForward, DisabledCacheStoresNothingAndChangesNothing) {
  auto model = Model::load(
      testing::generated_model("engine-tiny-seed11-F32.gguf", "--shape tiny --format gguf --seed 11 --type F32"));
  std::mt19937 rng(4);
  const std::vector<int32_t> a = random_ids(rng, 16);
  Embedder off(*model, small_chunks(0));
  EXPECT_FALSE(off.prefix_cache().enabled());
  EXPECT_EQ(off.remember_prefix(a), PrefixStatus::kNotCacheable);
  EXPECT_EQ(off.prefix_cache().n_entries(), 0);
  const std::vector<std::vector<int32_t>> seqs = {join({a, {1, 2, model->tokenizer->eos_id()}}), a};
  std::vector<int64_t> reused;
  const auto got = off.embed(seqs, &reused);
  EXPECT_EQ(reused, (std::vector<int64_t>{0, 0}));
  for (size_t i = 0; i < seqs.size(); ++i) {
    // The reference in the fast pass's arithmetic (int8 activation rounding where this CPU uses it, where a
    // last-ulp difference can flip a code: 0.99995; see test_forward.cpp).
    EXPECT_GT(cosine(got[i], forward_reference(*model, seqs[i], ReferenceMatmul::kLikeFast)),
              model->repacked_bytes > 0 ? 0.99995 : 0.99999);
  }
}

TEST(PrefixForward, PromptLargerThanTheBudgetIsNotComputed) {
  auto model = Model::load(
      testing::generated_model("engine-tiny-seed11-F32.gguf", "--shape tiny --format gguf --seed 11 --type F32"));
  const Qwen3Config& c = model->config;
  std::mt19937 rng(9);
  // Room for 10 tokens' K/V: a 10-token prompt is kept, an 11-token one is not even computed.
  Embedder small(*model, small_chunks(PrefixEntry::bytes_for(10, c.n_layer, c.kv_dim())));
  EXPECT_EQ(small.remember_prefix(random_ids(rng, 11)), PrefixStatus::kNotCacheable);
  EXPECT_EQ(small.prefix_stats().entries_computed, 0);
  EXPECT_EQ(small.remember_prefix(random_ids(rng, 10)), PrefixStatus::kComputed);
  EXPECT_EQ(small.prefix_cache().n_entries(), 1);
  // A second prompt evicts the first.
  const std::vector<int32_t> second = random_ids(rng, 6);
  EXPECT_EQ(small.remember_prefix(second), PrefixStatus::kComputed);
  EXPECT_EQ(small.prefix_cache().n_entries(), 1);
  EXPECT_EQ(small.prefix_cache().evictions(), 1);
  EXPECT_LE(small.prefix_cache().bytes(), small.prefix_cache().budget_bytes());
  std::vector<int64_t> reused;
  small.embed({join({second, {model->tokenizer->eos_id()}})}, &reused);
  EXPECT_EQ(reused[0], 6);
}

// --- PrefixCache alone, on synthetic entries ---

std::shared_ptr<PrefixEntry> entry(std::vector<int32_t> ids) {
  return std::make_shared<PrefixEntry>(std::move(ids), /*layers=*/2, /*kv_width=*/8);
}

TEST(PrefixCache, EntryLayoutAndBytes) {
  PrefixEntry e({1, 2, 3}, 2, 8);
  EXPECT_EQ(e.kv.size(), 2u * 2 * 3 * 8);
  EXPECT_EQ(e.k(0), e.kv.data());
  EXPECT_EQ(e.v(0), e.kv.data() + 3 * 8);
  EXPECT_EQ(e.k(1), e.kv.data() + 2 * 3 * 8);
  EXPECT_EQ(e.bytes(), 3 * (2 * 2 * 8 * 4 + 4));
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
  const int64_t six = PrefixEntry::bytes_for(6, 2, 8);
  PrefixCache cache(2 * six + 100);  // room for two 6-token entries
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

TEST(PrefixCache, ZeroBudgetStoresNothing) {
  PrefixCache cache(0);
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.fits(4, 2, 8));
  cache.insert(entry({1, 2, 3, 4, 5}));
  EXPECT_EQ(cache.n_entries(), 0);
  EXPECT_EQ(cache.bytes(), 0);
  EXPECT_FALSE(cache.find(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 5));
}

}  // namespace
}  // namespace qembed
