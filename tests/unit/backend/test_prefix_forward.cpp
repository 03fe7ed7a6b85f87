// Prefix reuse: a sequence started from cached K/V must embed exactly like the full computation, whatever it shares
// with the entry and whatever else is in its batch; and the cache must keep to its byte budget.
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/cpu_prefix_entry.hpp"
#include "backend/cpu/forward_reference.hpp"
#include "cpu_engine_fixture.hpp"
#include "engine/prefix_cache.hpp"
#include "model/model.hpp"
#include "../support/generated_models.hpp"
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

// Chunks of 8 tokens cross sequence boundaries and start inside cached and computed positions.
testing::CpuEngine small_chunks(const Model& model, int64_t cache_bytes) {
  return testing::make_cpu_engine(model, /*chunk_tokens=*/8, cache_bytes);
}

// Qwen3-Embedding's query prompt (the service's format_instruction with its default task), tokenized with EOS.
constexpr const char* kQueryPrompt =
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:";

std::vector<int32_t> tokenize_with_eos(const Model& model, const std::string& text) {
  std::vector<int32_t> ids = model.tokenizer->encode(text);
  ids.push_back(model.tokenizer->eos_id());
  return ids;
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

  testing::CpuEngine cached = small_chunks(*model, int64_t{64} << 20);
  EXPECT_EQ(cached->remember_prefix(a), PrefixStatus::kComputed);
  EXPECT_EQ(cached->remember_prefix(a), PrefixStatus::kCached) << "an entry already covers it";
  EXPECT_EQ(cached->remember_prefix(head(a, 15)), PrefixStatus::kCached) << "a prefix of an entry is covered by it";
  EXPECT_EQ(cached->remember_prefix(b), PrefixStatus::kComputed);
  EXPECT_EQ(cached->remember_prefix(c), PrefixStatus::kComputed);
  EXPECT_EQ(cached->remember_prefix(head(b, 3)), PrefixStatus::kNotCacheable) << "shorter than the minimum match";
  EXPECT_EQ(cached->prefix_stats().entries_computed, 3);
  EXPECT_EQ(cached->prefix_cache().n_entries(), 3);

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
  const std::vector<std::vector<float>> got = cached->embed(seqs, &reused);
  testing::CpuEngine plain = small_chunks(*model, 0);
  const std::vector<std::vector<float>> want = plain->embed(seqs);
  ASSERT_EQ(got.size(), cases.size());
  int64_t reused_total = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].what);
    EXPECT_EQ(reused[i], cases[i].reused);
    reused_total += reused[i];
    EXPECT_GT(cosine(got[i], want[i]), 0.99999);
    // The reference in the fast pass's arithmetic (int8 activation rounding where this CPU uses it, where a
    // last-ulp difference can flip a code: 0.99995; see test_forward.cpp).
    EXPECT_GT(cosine(got[i], forward_reference(*model, seqs[i], &cached.cpu->weights())),
              cached.cpu->info().prepared_bytes > 0 ? 0.99995 : 0.99999);
    std::vector<int64_t> alone_reused;
    EXPECT_GT(cosine(got[i], cached->embed({seqs[i]}, &alone_reused)[0]), 0.99999) << "batch invariance";
    EXPECT_EQ(alone_reused[0], cases[i].reused);
  }
  EXPECT_EQ(cached->prefix_stats().tokens_reused, 2 * reused_total);
}

INSTANTIATE_TEST_SUITE_P(Types, PrefixForwardTest, ::testing::Values("F32", "Q8_0", "Q4_K_M"));

TEST(PrefixForward, RealPromptReusedAcrossTheTokenizationBoundary) {
  auto model = Model::load(
      testing::generated_model("engine-tiny-seed11-F32.gguf", "--shape tiny --format gguf --seed 11 --type F32"));
  testing::CpuEngine cached = small_chunks(*model, int64_t{64} << 20);
  testing::CpuEngine plain = small_chunks(*model, 0);
  const std::vector<int32_t> prompt = model->tokenizer->encode(kQueryPrompt);
  ASSERT_EQ(cached->remember_prefix(prompt), PrefixStatus::kComputed);
  // "Query:" followed by "x", "The" or "a" tokenizes as "Query" ":x" (the prompt alone ends "Query" ":"): matching
  // on ids still reuses all but that token. "what", " spaced" and "42" keep ":" apart: the whole prompt is reused.
  std::vector<std::vector<int32_t>> seqs;
  for (const char* q : {"what is the capital of China?", "The sky", " spaced", "42 answers", "x", "a"}) {
    seqs.push_back(tokenize_with_eos(*model, std::string(kQueryPrompt) + q));
  }
  seqs.push_back(tokenize_with_eos(*model, "a document without any prompt"));
  std::vector<int64_t> reused;
  const auto got = cached->embed(seqs, &reused);
  const auto want = plain->embed(seqs);
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
  testing::CpuEngine off = small_chunks(*model, 0);
  EXPECT_FALSE(off->prefix_cache().enabled());
  EXPECT_EQ(off->remember_prefix(a), PrefixStatus::kNotCacheable);
  EXPECT_EQ(off->prefix_cache().n_entries(), 0);
  const std::vector<std::vector<int32_t>> seqs = {join({a, {1, 2, model->tokenizer->eos_id()}}), a};
  std::vector<int64_t> reused;
  const auto got = off->embed(seqs, &reused);
  EXPECT_EQ(reused, (std::vector<int64_t>{0, 0}));
  for (size_t i = 0; i < seqs.size(); ++i) {
    // The reference in the fast pass's arithmetic (int8 activation rounding where this CPU uses it, where a
    // last-ulp difference can flip a code: 0.99995; see test_forward.cpp).
    EXPECT_GT(cosine(got[i], forward_reference(*model, seqs[i], &off.cpu->weights())),
              off.cpu->info().prepared_bytes > 0 ? 0.99995 : 0.99999);
  }
}

TEST(PrefixForward, PromptLargerThanTheBudgetIsNotComputed) {
  auto model = Model::load(
      testing::generated_model("engine-tiny-seed11-F32.gguf", "--shape tiny --format gguf --seed 11 --type F32"));
  const Qwen3Config& c = model->config;
  std::mt19937 rng(9);
  // Room for 10 tokens' K/V: a 10-token prompt is kept, an 11-token one is not even computed.
  testing::CpuEngine small = small_chunks(*model, CpuPrefixEntry::bytes_for(10, c.n_layer, c.kv_dim()));
  EXPECT_EQ(small->backend().prefix_entry_bytes(10), CpuPrefixEntry::bytes_for(10, c.n_layer, c.kv_dim()));
  EXPECT_EQ(small->remember_prefix(random_ids(rng, 11)), PrefixStatus::kNotCacheable);
  EXPECT_EQ(small->prefix_stats().entries_computed, 0);
  EXPECT_EQ(small->remember_prefix(random_ids(rng, 10)), PrefixStatus::kComputed);
  EXPECT_EQ(small->prefix_cache().n_entries(), 1);
  // A second prompt evicts the first.
  const std::vector<int32_t> second = random_ids(rng, 6);
  EXPECT_EQ(small->remember_prefix(second), PrefixStatus::kComputed);
  EXPECT_EQ(small->prefix_cache().n_entries(), 1);
  EXPECT_EQ(small->prefix_cache().evictions(), 1);
  EXPECT_LE(small->prefix_cache().bytes(), small->prefix_cache().budget_bytes());
  std::vector<int64_t> reused;
  small->embed({join({second, {model->tokenizer->eos_id()}})}, &reused);
  EXPECT_EQ(reused[0], 6);
}

TEST(CpuPrefixEntry, LayoutAndBytes) {
  CpuPrefixEntry e({1, 2, 3}, 2, 8);
  EXPECT_EQ(e.kv.size(), 2u * 2 * 3 * 8);
  EXPECT_EQ(e.k(0), e.kv.data());
  EXPECT_EQ(e.v(0), e.kv.data() + 3 * 8);
  EXPECT_EQ(e.k(1), e.kv.data() + 2 * 3 * 8);
  EXPECT_EQ(e.bytes(), 3 * (2 * 2 * 8 * 4 + 4));
  const PrefixEntry& base = e;
  EXPECT_EQ(base.bytes(), CpuPrefixEntry::bytes_for(3, 2, 8)) << "the cache counts the backend's bytes";
}

}  // namespace
}  // namespace qembed
