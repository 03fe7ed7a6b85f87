// The embedding cache through the service: a cached vector is what the same path computes, bit for bit, for every
// `dimensions`/normalize variant served from one entry; a request mixes hits and misses in order; a request of only
// hits never reaches the worker; a reranker caches nothing; a Redis that is down only costs misses.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <thread>

#include "../support/generated_models.hpp"
#include "model/model.hpp"
#include "service/embedding_service.hpp"
#include "service_fixture.hpp"

namespace qembed::service {
namespace {

using testing::make_service;
using testing::small_options;
using testing::texts;
using testing::tiny_model;

const std::vector<std::string> kTexts = {"What is the capital of China?", "The capital of China is Beijing.",
                                         "Gravity is a force that attracts two bodies towards each other.",
                                         "重力是一种吸引力。", "x"};

ServiceOptions cached_options() {
  ServiceOptions o = small_options();
  o.cache_bytes = int64_t{8} << 20;
  return o;
}

void expect_same_bits(const EmbedResult& got, const EmbedResult& want) {
  ASSERT_EQ(got.vectors.size(), want.vectors.size());
  for (size_t i = 0; i < got.vectors.size(); ++i) {
    ASSERT_EQ(got.vectors[i].size(), want.vectors[i].size()) << "input " << i;
    EXPECT_EQ(std::memcmp(got.vectors[i].data(), want.vectors[i].data(), 4 * got.vectors[i].size()), 0)
        << "input " << i;
  }
  EXPECT_EQ(got.n_tokens, want.n_tokens);
  EXPECT_EQ(got.total_tokens, want.total_tokens);
}

TEST(EmbeddingServiceCache, HitsEqualComputedVectorsBitForBitForEveryVariant) {
  auto reference = make_service(tiny_model());  // no cache: every vector computed
  auto svc = make_service(tiny_model(), cached_options());
  EmbedParams plain;
  expect_same_bits(svc->embed(texts(kTexts), plain), reference->embed(texts(kTexts), plain));
  const int64_t batches = svc->stats().batches_total.load();
  EXPECT_EQ(svc->stats().cache_misses_local_total.load(), 5);
  EXPECT_EQ(svc->stats().cache_entries.load(), 5);

  EmbedParams d64;
  d64.dimensions = 64;
  EmbedParams raw;
  raw.normalize = false;
  EmbedParams d32raw;
  d32raw.dimensions = 32;
  d32raw.normalize = false;
  for (const EmbedParams& p : {plain, d64, raw, d32raw}) {
    expect_same_bits(svc->embed(texts(kTexts), p), reference->embed(texts(kTexts), p));
  }
  EXPECT_EQ(svc->stats().batches_total.load(), batches);  // all four served from the five entries
  EXPECT_EQ(svc->stats().cache_hits_local_total.load(), 20);
  EXPECT_EQ(svc->stats().cache_entries.load(), 5);
}

TEST(EmbeddingServiceCache, ARequestMixesHitsAndMissesInOrder) {
  auto reference = make_service(tiny_model());
  auto svc = make_service(tiny_model(), cached_options());
  EmbedParams p;
  p.dimensions = 128;
  svc->embed(texts({kTexts[1], kTexts[3]}), p);
  const int64_t inputs = svc->stats().inputs_total.load();
  const EmbedResult mixed = svc->embed(texts(kTexts), p);
  expect_same_bits(mixed, reference->embed(texts(kTexts), p));
  EXPECT_EQ(svc->stats().inputs_total.load() - inputs, 3);  // only the misses were computed
  EXPECT_EQ(svc->stats().cache_hits_local_total.load(), 2);
  EXPECT_EQ(svc->stats().cache_misses_local_total.load(), 2 + 3);
  // Token ids equal to a text's are the same key.
  const EncodedRequest enc = svc->encode(texts({kTexts[4]}), p);
  EXPECT_EQ(svc->embed(testing::tokens({enc.seqs[0]}), p).vectors[0], mixed.vectors[4]);
  EXPECT_EQ(svc->stats().cache_hits_local_total.load(), 3);
}

TEST(EmbeddingServiceCache, AllHitRequestCompletesAtOnceWithoutTheWorker) {
  auto svc = make_service(tiny_model(), cached_options());
  svc->embed(texts(kTexts), EmbedParams{});
  const int64_t batches = svc->stats().batches_total.load();
  std::thread::id called_on;
  EmbedResult result;
  const Admission a = svc->submit(svc->encode(texts(kTexts), EmbedParams{}), [&](EmbedResult r, const Error* e) {
    ASSERT_EQ(e, nullptr);
    called_on = std::this_thread::get_id();
    result = std::move(r);
  });
  EXPECT_EQ(a, Admission::kQueued);
  EXPECT_EQ(called_on, std::this_thread::get_id());  // answered before submit returned, on this thread
  EXPECT_EQ(result.vectors.size(), kTexts.size());
  EXPECT_EQ(svc->stats().batches_total.load(), batches);
}

TEST(EmbeddingServiceCache, OffByDefaultAndNotForRerankers) {
  auto plain = make_service(tiny_model());
  plain->embed(texts({"a"}), {});
  plain->embed(texts({"a"}), {});
  EXPECT_EQ(plain->stats().cache_hits_local_total.load() + plain->stats().cache_misses_local_total.load(), 0);
  EXPECT_EQ(plain->stats().batches_total.load(), 2);

  ServiceOptions o = cached_options();
  o.reranker = true;
  auto rr = std::make_unique<EmbeddingService>(
      Model::load(qembed::testing::generated_model("rerank-tiny-F32.gguf",
                                                   "--shape tiny --format gguf --type F32 --reranker --seed 5"),
                  ModelRole::kReranker),
      o);
  rr->rerank("capital", {"Beijing", "Paris"}, {});
  rr->rerank("capital", {"Beijing", "Paris"}, {});
  EXPECT_EQ(rr->stats().cache_hits_local_total.load() + rr->stats().cache_misses_local_total.load(), 0);
  EXPECT_EQ(rr->stats().cache_entries.load(), 0);
  EXPECT_EQ(rr->stats().inputs_total.load(), 4);
}

TEST(EmbeddingServiceCache, RedisDownOnlyCostsMisses) {
  ServiceOptions o = cached_options();
  o.cache_bytes = 0;                          // Redis as the only level
  o.cache_redis.url = "redis://127.0.0.1:1";  // nothing listens on port 1: connections are refused
  auto reference = make_service(tiny_model());
  auto svc = make_service(tiny_model(), o);
  expect_same_bits(svc->embed(texts(kTexts), {}), reference->embed(texts(kTexts), {}));
  expect_same_bits(svc->embed(texts(kTexts), {}), reference->embed(texts(kTexts), {}));
  EXPECT_EQ(svc->stats().cache_hits_redis_total.load(), 0);
  EXPECT_EQ(svc->stats().cache_misses_redis_total.load(), 10);
  EXPECT_GE(svc->stats().cache_redis_errors_total.load(), 1);
}

}  // namespace
}  // namespace qembed::service
