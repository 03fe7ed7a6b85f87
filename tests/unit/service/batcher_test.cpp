// The batcher on its own (a real Engine on a tiny model): round-robin fairness, cancellation, admission, errors
// confined to their batch, prompt hits counted once per request, counters back to zero.
#include "service/batcher.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
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
    options.cost = CostModel(model_->config);  // as the service sets it
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

// ---- Scheduling classes (docs/design.md, "Scheduling") ----

//! The order in which callbacks ran.
struct Order {
  std::mutex mu;
  std::vector<std::string> names;
  EmbedDone wrap(const std::string& name, EmbedDone inner) {
    return [this, name, inner](EmbedResult r, const Error* e) {
      {
        std::lock_guard lock(mu);
        names.push_back(name);
      }
      inner(std::move(r), e);
    };
  }
};

//! Polls until `pred` holds (or ~20 s pass).
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 20000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return pred();
}

TEST_F(BatcherTest, InteractiveRequestRunsBetweenStepsOfARunningBulkBatchWithTheSameVectors) {
  BatcherOptions o;
  o.max_batch_tokens = 4096;
  o.max_step_ms = 0.001;  // the smallest steps: a few rows of one layer
  o.max_batch_ms = 0;
  o.interactive_max_tokens = 16;
  make(o);
  std::vector<std::vector<int32_t>> docs;
  for (int i = 0; i < 8; ++i) docs.push_back(random_ids(rng_, 200));
  const std::vector<int32_t> query = random_ids(rng_, 6);

  Order order;
  Outcome bulk, interactive;
  ASSERT_EQ(batcher_->submit(request_of(docs), order.wrap("bulk", bulk.callback()), nullptr), Admission::kQueued);
  ASSERT_TRUE(eventually([&] { return stats_.requests_running.load() == 1; })) << "the bulk batch started";
  // Between two steps of the bulk batch (run_on_worker runs there), a short request arrives.
  batcher_->run_on_worker([&](Engine&) {
    EXPECT_EQ(stats_.batches_total.load(), 0) << "the bulk batch is still in progress";
    EXPECT_EQ(batcher_->submit(request_of({query}), order.wrap("interactive", interactive.callback()), nullptr),
              Admission::kQueued);
  });
  bulk.wait();
  interactive.wait();
  ASSERT_TRUE(bulk.ok) << bulk.message;
  ASSERT_TRUE(interactive.ok) << interactive.message;
  EXPECT_EQ(order.names, (std::vector<std::string>{"interactive", "bulk"}));
  EXPECT_EQ(stats_.preemptions_total.load(), 1);
  EXPECT_EQ(stats_.interactive_requests_total.load(), 1);
  EXPECT_GT(stats_.work_per_second.load(), 0) << "bulk steps measured the compute rate";
  expect_idle();

  // The same vectors as whole-layer steps with nothing in between.
  BatcherOptions plain;
  plain.max_batch_tokens = 4096;
  plain.max_step_ms = 0;
  plain.interactive_max_tokens = 0;
  batcher_->stop();
  make(plain);
  Outcome bulk2, interactive2;
  ASSERT_EQ(batcher_->submit(request_of(docs), bulk2.callback(), nullptr), Admission::kQueued);
  ASSERT_EQ(batcher_->submit(request_of({query}), interactive2.callback(), nullptr), Admission::kQueued);
  bulk2.wait();
  interactive2.wait();
  EXPECT_EQ(bulk.result.vectors, bulk2.result.vectors);
  EXPECT_EQ(interactive.result.vectors, interactive2.result.vectors);
}

TEST_F(BatcherTest, QueuedInteractiveWorkGoesFirstButBulkStillMovesBetweenInteractiveBatches) {
  BatcherOptions o;
  o.max_batch_tokens = 4096;
  o.max_step_ms = 0;  // whole layers: the bulk batch needs n_layer steps
  o.interactive_max_tokens = 16;
  make(o);
  Order order;
  Outcome bulk, q1, q2;
  {
    WorkerGate gate(*batcher_);
    ASSERT_EQ(batcher_->submit(request_of({random_ids(rng_, 100)}), order.wrap("bulk", bulk.callback()), nullptr),
              Admission::kQueued);
    ASSERT_EQ(batcher_->submit(request_of({random_ids(rng_, 5)}), order.wrap("q1", q1.callback()), nullptr),
              Admission::kQueued);
  }
  q1.wait();
  // q2 arrives while the bulk batch runs; it is answered before the bulk batch ends.
  batcher_->run_on_worker([&](Engine&) {
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 5)}), order.wrap("q2", q2.callback()), nullptr),
              Admission::kQueued);
  });
  bulk.wait();
  q2.wait();
  EXPECT_TRUE(bulk.ok && q1.ok && q2.ok);
  EXPECT_EQ(order.names, (std::vector<std::string>{"q1", "q2", "bulk"}));
  expect_idle();
}

TEST_F(BatcherTest, LongInputsAreAdmittedByTheirWorkNotOnlyTheirTokens) {
  BatcherOptions o;
  o.max_batch_tokens = 4096;
  o.max_queue_tokens = 1 << 20;
  make(o);
  const CostModel cost(model_->config);
  // Room for one 2000-token input's work, which is far more than 2000 short inputs' work.
  o.max_queue_work = cost.sequence(2000) * 1.2;
  batcher_->stop();
  make(o);
  EXPECT_GT(cost.sequence(2000), 2000 * 1.2) << "attention makes a long input weigh more than its tokens";
  EXPECT_NEAR(cost.sequence(1), cost.token(0), 1e-9);
  EXPECT_NEAR(cost.span(0, 10) + cost.span(10, 30), cost.sequence(30), 1e-9);
  EXPECT_NEAR(batcher_->work_of({random_ids(rng_, 2000)}), cost.sequence(2000), 1e-6);
  Outcome a, b;
  {
    WorkerGate gate(*batcher_);
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 2000)}), a.callback(), nullptr), Admission::kQueued);
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 2000)}), nullptr, nullptr), Admission::kBusy)
        << "the tokens fit the token bound, the work does not";
    // The same 2000 tokens as short inputs weigh little: admitted.
    std::vector<std::vector<int32_t>> short_ones;
    for (int i = 0; i < 20; ++i) short_ones.push_back(random_ids(rng_, 10));
    EXPECT_EQ(batcher_->submit(request_of(short_ones), b.callback(), nullptr), Admission::kQueued);
    EXPECT_EQ(batcher_->submit(request_of({random_ids(rng_, 3000)}), nullptr, nullptr), Admission::kTooLarge)
        << "more work than the whole bound";
    EXPECT_GT(stats_.admitted_work.load(), 2000);
  }
  a.wait();
  b.wait();
  EXPECT_TRUE(a.ok && b.ok) << a.message << b.message;
  expect_idle();
  EXPECT_EQ(stats_.admitted_work.load(), 0);
}

TEST_F(BatcherTest, ARunningBulkBatchWhoseCallersAllLeftIsAbandonedAtTheNextStep) {
  BatcherOptions o;
  o.max_batch_tokens = 4096;
  o.max_step_ms = 0.001;
  o.max_batch_ms = 0;
  make(o);
  std::vector<std::vector<int32_t>> docs;
  for (int i = 0; i < 8; ++i) docs.push_back(random_ids(rng_, 400));
  auto gone = std::make_shared<std::atomic<bool>>(false);
  Outcome out;
  ASSERT_EQ(batcher_->submit(request_of(docs), out.callback(), gone), Admission::kQueued);
  ASSERT_TRUE(eventually([&] { return stats_.requests_running.load() == 1; }));
  *gone = true;
  out.wait();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.kind, ErrorKind::kLimit);
  EXPECT_EQ(stats_.batches_total.load(), 0) << "the batch was not run to its end";
  EXPECT_EQ(stats_.inputs_total.load(), 0);
  expect_idle();
}

}  // namespace
}  // namespace qembed::service
