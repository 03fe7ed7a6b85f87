// The engine over a fake backend: packed batches, token-budget batching in input order, id checks, prefix reuse
// and remember_prefix's cacheability rules. What the forward pass computes is the backend tests' business.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "fake_backend.hpp"

namespace qembed {
namespace {

using testing::FakeBackend;

Qwen3Config tiny_config() {
  Qwen3Config c;
  c.n_embd = FakeBackend::kWidth;
  c.n_layer = 2;
  c.n_vocab = 1000;
  c.n_ctx = 64;
  return c;
}

struct FakeEngine {
  FakeBackend* backend;
  std::unique_ptr<Engine> engine;
};

FakeEngine make_engine(int64_t max_batch_tokens, int64_t cache_bytes) {
  auto backend = std::make_unique<FakeBackend>();
  FakeBackend* raw = backend.get();
  EngineOptions o;
  o.max_batch_tokens = max_batch_tokens;
  o.prefix_cache_bytes = cache_bytes;
  return {raw, std::make_unique<Engine>(std::move(backend), tiny_config(), o)};
}

std::vector<int32_t> seq(int32_t first, int n) {
  std::vector<int32_t> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)] = first + i;
  return s;
}

TEST(PackedBatch, PacksComputedTokensAfterEachMatch) {
  auto entry = std::make_shared<testing::FakePrefixEntry>(seq(10, 6));
  const std::vector<int32_t> a = seq(10, 8), b = seq(500, 3);
  PackedBatch pb = PackedBatch::pack({a, b}, {{entry, 5}, {}});
  EXPECT_EQ(pb.n_seq(), 2);
  EXPECT_EQ(pb.token_ids, (std::vector<int32_t>{15, 16, 17, 500, 501, 502}));
  EXPECT_EQ(pb.positions, (std::vector<int32_t>{5, 6, 7, 0, 1, 2}));
  EXPECT_EQ(pb.seq_offsets, (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(pb.n_kv_rows(), 11);
  // The match must be the sequence's own ids and leave its last token to compute.
  EXPECT_THROW(PackedBatch::pack({b}, {{entry, 5}}), Error);
  EXPECT_THROW(PackedBatch::pack({seq(10, 5)}, {{entry, 5}}), Error);
}

TEST(Engine, BatchesByTokenBudgetInInputOrder) {
  FakeEngine f = make_engine(/*max_batch_tokens=*/10, 0);
  // 4 + 4 fit; + 4 does not; 12 runs alone; then 1.
  const std::vector<std::vector<int32_t>> seqs = {seq(1, 4), seq(100, 4), seq(200, 4), seq(300, 12), seq(400, 1)};
  const auto out = f.engine->embed(seqs);
  ASSERT_EQ(out.size(), seqs.size());
  ASSERT_EQ(f.backend->started.size(), 4u);
  EXPECT_EQ(f.backend->started[0].n_seq, 2);
  EXPECT_EQ(f.backend->started[1].n_seq, 1);
  EXPECT_EQ(f.backend->started[2].n_tokens, 12);
  EXPECT_EQ(f.backend->started[3].n_tokens, 1);
  for (size_t i = 0; i < seqs.size(); ++i) {
    int64_t sum = 0;
    for (int32_t id : seqs[i]) sum += id;
    EXPECT_EQ(out[i], (std::vector<float>{0, static_cast<float>(seqs[i].size()), static_cast<float>(sum), 0}))
        << "input " << i;
  }
}

TEST(Engine, IdsAreCheckedAndNamed) {
  FakeEngine f = make_engine(100, 0);
  try {
    f.engine->embed({seq(1, 3), {1, 1000, 2}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "input 1: token id 1000 is outside the vocabulary [0, 1000)");
  }
  EXPECT_THROW(f.engine->embed({seq(1, 3), {}}), Error);
  EXPECT_THROW(f.engine->embed({{-1}}), Error);
  EXPECT_TRUE(f.backend->started.empty()) << "nothing starts before every id of a batch is checked";
}

TEST(Engine, PrefixIsRememberedOnceAndReused) {
  FakeEngine f = make_engine(100, /*cache_bytes=*/10 * testing::FakePrefixEntry::kBytesPerToken);
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 3)), PrefixStatus::kNotCacheable) << "below the minimum match";
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 11)), PrefixStatus::kNotCacheable) << "larger than the budget";
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 65)), PrefixStatus::kNotCacheable) << "longer than the context";
  EXPECT_TRUE(f.backend->capture_past_tokens.empty());
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 6)), PrefixStatus::kComputed);
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 6)), PrefixStatus::kCached);
  // Shares 6 ids with the first: captured on top of it (the cache then holds 6 + 9 > 10 tokens: the first goes).
  EXPECT_EQ(f.engine->remember_prefix(seq(1, 9)), PrefixStatus::kComputed);
  EXPECT_EQ(f.backend->capture_past_tokens, (std::vector<int64_t>{0, 6}));
  EXPECT_EQ(f.engine->prefix_cache().n_entries(), 1);
  EXPECT_LE(f.engine->prefix_cache().bytes(), f.engine->prefix_cache().budget_bytes());

  std::vector<int64_t> reused;
  const auto out = f.engine->embed({seq(1, 12), seq(1, 9), seq(700, 5)}, &reused);
  EXPECT_EQ(reused, (std::vector<int64_t>{9, 8, 0})) << "at most n-1 positions: the last token is computed";
  EXPECT_EQ(out[0][0], 9);
  EXPECT_EQ(out[0][1], 3);
  EXPECT_EQ(out[0][3], 9) << "computed tokens continue at the cached length";
  EXPECT_EQ(out[1][1], 1);
  EXPECT_EQ(f.backend->started.back().n_kv_rows, 12 + 9 + 5) << "cached positions occupy K/V rows";
  EXPECT_EQ(f.engine->prefix_stats().inputs_reused, 2);
  EXPECT_EQ(f.engine->prefix_stats().tokens_reused, 17);
  EXPECT_EQ(f.engine->prefix_stats().entries_computed, 2);
}

TEST(Engine, StartedTasksInterleave) {
  FakeEngine f = make_engine(100, 0);
  const std::vector<int32_t> a = seq(1, 5), b = seq(50, 2);
  std::unique_ptr<ForwardTask> ta = f.engine->start({a});
  std::unique_ptr<ForwardTask> tb = f.engine->start({b});
  EXPECT_FALSE(ta->step());
  while (!tb->step()) {
  }
  while (!ta->step()) {
  }
  EXPECT_EQ(ta->layers_done(), FakeBackend::kSteps);
  EXPECT_EQ(ta->take_output()[2], 15);
  EXPECT_EQ(tb->take_output()[2], 101);
}

}  // namespace
}  // namespace qembed
