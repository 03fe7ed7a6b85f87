// The batcher on its own (a real Engine on a tiny model): round-robin fairness, cancellation, admission, errors
// confined to their batch, prompt hits counted once per request, counters back to zero.
#include "service/batcher.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "backend/backend_factory.hpp"
#include "engine/engine.hpp"
#include "model/model.hpp"
#include "service_fixture.hpp"

namespace qembed::service {
namespace {

using testing::tiny_model;

std::vector<int32_t> random_ids(std::mt19937& rng, int n) {
  std::uniform_int_distribution<int32_t> d(100, 150000);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = d(rng);
  return ids;
}

EncodedRequest request_of(std::vector<std::vector<int32_t>> seqs) {
  EncodedRequest r;
  r.seqs = std::move(seqs);
  for (const auto& s : r.seqs) r.n_tokens += static_cast<int64_t>(s.size());
  return r;
}

//! Keeps the worker busy inside run_on_worker until open(), so requests can be queued deterministically.
class WorkerGate {
 public:
  explicit WorkerGate(Batcher& b) {
    std::future<void> entered = entered_.get_future();
    thread_ = std::thread([this, &b] {
      b.run_on_worker([this](Engine&) {
        entered_.set_value();
        released_.wait();
      });
    });
    entered.wait();
  }
  ~WorkerGate() { open(); }
  void open() {
    if (thread_.joinable()) {
      release_.set_value();
      thread_.join();
    }
  }

 private:
  std::promise<void> entered_, release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::thread thread_;
};

//! Records how a request ended.
struct Outcome {
  std::promise<void> finished;
  std::future<void> future = finished.get_future();
  EmbedResult result;
  bool ok = false;
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  int64_t inputs_total_at_end = -1;

  EmbedDone callback(const ServiceStats* stats = nullptr) {
    return [this, stats](EmbedResult r, const Error* e) {
      ok = e == nullptr;
      if (e) {
        kind = e->kind();
        message = e->what();
      }
      result = std::move(r);
      if (stats) inputs_total_at_end = stats->inputs_total.load();
      finished.set_value();
    };
  }
  void wait() { future.wait(); }
};

class BatcherTest : public ::testing::Test {
 protected:
  void make(BatcherOptions options, int64_t prefix_cache_bytes = int64_t{64} << 20) {
    model_ = Model::load(tiny_model());
    BackendOptions bo;
    bo.n_threads = 2;
    EngineOptions eo;
    eo.max_batch_tokens = options.max_batch_tokens;
    eo.prefix_cache_bytes = prefix_cache_bytes;
    auto engine = std::make_unique<Engine>(make_backend(*model_, bo), model_->config, eo);
    batcher_ = std::make_unique<Batcher>(std::move(engine), options, stats_);
  }
  void TearDown() override {
    if (batcher_) batcher_->stop();
    batcher_.reset();
  }
  void expect_idle() {
    EXPECT_EQ(stats_.queue_inputs.load(), 0);
    EXPECT_EQ(stats_.queue_tokens.load(), 0);
    EXPECT_EQ(stats_.admitted_tokens.load(), 0);
    EXPECT_EQ(stats_.requests_waiting.load(), 0);
    EXPECT_EQ(stats_.requests_running.load(), 0);
  }

  std::unique_ptr<Model> model_;
  ServiceStats stats_;
  std::unique_ptr<Batcher> batcher_;
  std::mt19937 rng_{5};
};

TEST_F(BatcherTest, ShortRequestIsNotStarvedByALongOneQueuedBeforeIt) {
  BatcherOptions o;
  o.max_batch_tokens = 64;
  make(o);
  std::vector<std::vector<int32_t>> big;
  for (int i = 0; i < 12; ++i) big.push_back(random_ids(rng_, 30));
  Outcome long_req, short_req;
  {
    WorkerGate gate(*batcher_);
    ASSERT_EQ(batcher_->submit(request_of(big), long_req.callback(&stats_), nullptr), Admission::kQueued);
    ASSERT_EQ(batcher_->submit(request_of({random_ids(rng_, 10)}), short_req.callback(&stats_), nullptr),
              Admission::kQueued);
    EXPECT_EQ(stats_.requests_waiting.load(), 2);
    EXPECT_EQ(stats_.queue_inputs.load(), 13);
    EXPECT_EQ(stats_.queue_tokens.load(), 12 * 30 + 10);
  }
  short_req.wait();
  long_req.wait();
  ASSERT_TRUE(short_req.ok) << short_req.message;
  ASSERT_TRUE(long_req.ok) << long_req.message;
  EXPECT_LE(short_req.inputs_total_at_end, 2) << "the short request rode in the first batch";
  EXPECT_EQ(long_req.inputs_total_at_end, 13);
  EXPECT_EQ(long_req.result.vectors.size(), 12u);
  EXPECT_EQ(long_req.result.n_tokens, std::vector<int64_t>(12, 30));
  EXPECT_EQ(long_req.result.total_tokens, 360);
  for (const auto& v : long_req.result.vectors) EXPECT_EQ(v.size(), 256u);
  EXPECT_GE(stats_.batches_total.load(), 6) << "64-token batches of 30-token inputs";
  expect_idle();
}

TEST_F(BatcherTest, CancelledRequestsAreDroppedBeforeTheirNextBatch) {
  BatcherOptions o;
  o.max_batch_tokens = 40;
  make(o);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  Outcome cancelled, kept;
  {
    WorkerGate gate(*batcher_);
    std::vector<std::vector<int32_t>> seqs;
    for (int i = 0; i < 5; ++i) seqs.push_back(random_ids(rng_, 12));
    ASSERT_EQ(batcher_->submit(request_of(seqs), cancelled.callback(), flag), Admission::kQueued);
    ASSERT_EQ(batcher_->submit(request_of({random_ids(rng_, 12)}), kept.callback(), nullptr), Admission::kQueued);
    *flag = true;
  }
  cancelled.wait();
  kept.wait();
  EXPECT_FALSE(cancelled.ok);
  EXPECT_EQ(cancelled.kind, ErrorKind::kLimit);
  EXPECT_TRUE(cancelled.result.vectors.empty());
  EXPECT_TRUE(kept.ok) << kept.message;
  EXPECT_EQ(stats_.inputs_total.load(), 1) << "none of the cancelled request's inputs was computed";
  expect_idle();
}

TEST_F(BatcherTest, CancellingMidwayStopsAtTheNextBatchBoundary) {
  BatcherOptions o;
  o.max_batch_tokens = 16;
  make(o);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  stats_.on_batch = [flag](int64_t, int64_t, double) { *flag = true; };  // cancel after the first batch
  std::vector<std::vector<int32_t>> seqs;
  for (int i = 0; i < 8; ++i) seqs.push_back(random_ids(rng_, 12));
  Outcome out;
  ASSERT_EQ(batcher_->submit(request_of(seqs), out.callback(), flag), Admission::kQueued);
  out.wait();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.kind, ErrorKind::kLimit);
  EXPECT_EQ(stats_.inputs_total.load(), 1);
  expect_idle();
}

TEST_F(BatcherTest, AdmissionBoundsTheQueue) {
  BatcherOptions o;
  o.max_batch_tokens = 64;
  o.max_queue_tokens = 100;
  o.max_queue_inputs = 4;
  make(o);
  Outcome a, b;
  EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 101)}), nullptr, nullptr), Admission::kTooLarge);
  std::vector<std::vector<int32_t>> five(5, random_ids(rng_, 4));
  EXPECT_EQ(batcher_->submit(request_of(five), nullptr, nullptr), Admission::kTooLarge);
  {
    WorkerGate gate(*batcher_);
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 80)}), a.callback(), nullptr), Admission::kQueued);
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 30)}), nullptr, nullptr), Admission::kBusy);
    EXPECT_EQ(stats_.admitted_tokens.load(), 80);
  }
  a.wait();
  EXPECT_TRUE(a.ok) << a.message;
  EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 30)}), b.callback(), nullptr), Admission::kQueued);
  b.wait();
  EXPECT_TRUE(b.ok);
  batcher_->stop();
  EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 3)}), nullptr, nullptr), Admission::kStopping);
  EXPECT_THROW(batcher_->run_on_worker([](Engine&) {}), Error);
  expect_idle();
}

TEST_F(BatcherTest, AFailingBatchFailsOnlyItsRequestsAsInternalErrors) {
  BatcherOptions o;
  make(o);
  Outcome bad, good;
  ASSERT_EQ(batcher_->submit(request_of({{5, 6, 999999999}}), bad.callback(), nullptr), Admission::kQueued);
  bad.wait();
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.kind, ErrorKind::kInternal);
  EXPECT_NE(bad.message.find("outside the vocabulary"), std::string::npos) << bad.message;
  ASSERT_EQ(batcher_->submit(request_of({random_ids(rng_, 9)}), good.callback(), nullptr), Admission::kQueued);
  good.wait();
  EXPECT_TRUE(good.ok) << good.message;
  expect_idle();
}

TEST_F(BatcherTest, PromptIsRememberedAndCountedOncePerRequest) {
  BatcherOptions o;
  o.max_batch_tokens = 40;
  make(o);
  const std::vector<int32_t> prompt = random_ids(rng_, 10);
  auto with_prompt = [&](int n_inputs) {
    EncodedRequest r;
    for (int i = 0; i < n_inputs; ++i) {
      std::vector<int32_t> s = prompt;
      const std::vector<int32_t> tail = random_ids(rng_, 5);
      s.insert(s.end(), tail.begin(), tail.end());
      r.seqs.push_back(s);
    }
    r.prompt_ids = prompt;
    return r;
  };
  Outcome first, second;
  ASSERT_EQ(batcher_->submit(with_prompt(6), first.callback(), nullptr), Admission::kQueued);  // 3 batches
  first.wait();
  ASSERT_TRUE(first.ok) << first.message;
  EXPECT_EQ(stats_.prefix_misses_total.load(), 1);
  EXPECT_EQ(stats_.prefix_hits_total.load(), 0);
  ASSERT_EQ(batcher_->submit(with_prompt(2), second.callback(), nullptr), Admission::kQueued);
  second.wait();
  EXPECT_EQ(stats_.prefix_misses_total.load(), 1);
  EXPECT_EQ(stats_.prefix_hits_total.load(), 1);
  EXPECT_EQ(stats_.prefix_inputs_reused_total.load(), 8);
  EXPECT_EQ(stats_.prefix_tokens_reused_total.load(), 80);
  EXPECT_EQ(stats_.prefix_cache_entries.load(), 1);
  EXPECT_GT(stats_.prefix_cache_bytes.load(), 0);
  expect_idle();
}

TEST_F(BatcherTest, EmptyRequestCompletesAtOnce) {
  make(BatcherOptions{});
  Outcome out;
  ASSERT_EQ(batcher_->submit(EncodedRequest{}, out.callback(), nullptr), Admission::kQueued);
  out.wait();
  EXPECT_TRUE(out.ok);
  EXPECT_TRUE(out.result.vectors.empty());
  expect_idle();
}

}  // namespace
}  // namespace qembed::service
