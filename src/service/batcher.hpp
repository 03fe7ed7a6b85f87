#pragma once
// The batcher: ONE worker thread owns the Engine. Front ends submit encoded requests (any thread) and are called
// back on the worker when every input is computed and finished (dimensions, normalization, finite check).
//
// Latency under load (docs/design.md, "Scheduling"): requests fall in two classes. Interactive ones — a request of
// at most `interactive_max_tokens` tokens (a search query, a short text), or one its front end marks so — never
// queue behind bulk work: the worker runs bulk batches in steps of bounded time (a chunk of a layer's tokens sized
// from the measured compute rate, `max_step_ms`) and, between two steps, runs every interactive request waiting
// as one batch to its end. A bulk step follows each interactive batch, so a stream of queries cannot starve bulk
// work either. Batches are cut by tokens (`max_batch_tokens`, a hard cap) and, for bulk, by expected compute time
// (`max_batch_ms` of work at the measured rate), taking inputs round-robin across the queued requests of the class
// (starting from a rotating one) so a request with thousands of inputs does not starve a short one. Sequences are
// packed without padding; the engine guarantees a sequence's vector does not depend on its batch or its steps.
//
// Admission bounds the admitted tokens, inputs and work (CostModel token-equivalents: attention is quadratic in
// length, so eight 32K inputs weigh about five times their tokens), so memory and waiting stay within what the
// server prints at start-up.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "engine/cost_model.hpp"
#include "service/embedding_service.hpp"

namespace qembed {
class Engine;
class ForwardTask;
}  // namespace qembed

namespace qembed::service {

struct BatcherOptions {
  int64_t max_batch_tokens = 16384;      //!< tokens per forward batch, cached prompt positions included (hard cap)
  int64_t max_batch_inputs = 0;          //!< inputs per forward batch; 0: no limit
  int64_t max_queue_tokens = 262144;     //!< tokens admitted and not finished
  int64_t max_queue_inputs = 16384;      //!< inputs admitted and not finished
  double max_queue_work = 0;             //!< token-equivalents admitted and not finished; 0: max_queue_tokens
  int64_t interactive_max_tokens = 128;  //!< requests of at most this many tokens are interactive; 0: one class
  double max_step_ms = 100;              //!< bulk batches run in steps of about this long; 0: a whole layer per step
  double max_batch_ms = 2000;  //!< a bulk batch holds about this much work at the measured rate; 0: tokens only
  CostModel cost;              //!< the model's cost per token (set from its shape by the service)
  //! Called on the worker with each computed embedding's ids and pooled vector (before dimensions/normalization),
  //! once it finished without error: the embedding cache's insert. Empty: none. Not called for rank logits.
  std::function<void(std::span<const int32_t> ids, std::span<const float> pooled)> on_pooled;
};

class Batcher {
 public:
  //! Starts the worker thread, which owns `engine` from now on. `stats` must outlive the batcher.
  Batcher(std::unique_ptr<Engine> engine, const BatcherOptions& options, ServiceStats& stats);
  //! stop(), then destroys the Engine.
  ~Batcher();

  //! Queues a request unless it would push the admitted (not yet finished) tokens, inputs or work past their
  //! bounds. `done` is called exactly once when the result is Admission::kQueued: on the worker, or at once on the
  //! calling thread for a request without inputs.
  Admission submit(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled);

  //! Runs `fn` on the worker between two steps (the Engine is single-threaded) and waits for it; rethrows what it
  //! throws. Throws a kLimit Error once stopping.
  void run_on_worker(const std::function<void(Engine&)>& fn);

  //! Finishes everything admitted (requests whose `cancelled` is set are dropped at the next step; a running batch
  //! whose requests are all cancelled is abandoned), then joins the worker. Later submits answer kStopping.
  //! Idempotent.
  void stop();

  const BatcherOptions& options() const { return options_; }
  //! The work of a request's sequences in token-equivalents (what admission counts).
  double work_of(const std::vector<std::vector<int32_t>>& seqs) const;

 private:
  struct Job;
  struct Control;
  struct Running;
  using Item = std::pair<std::shared_ptr<Job>, size_t>;  // (job, input index)
  enum Class { kInteractive = 0, kBulk = 1 };

  void worker_loop();
  //! Removes cancelled jobs from both queues into `dropped` (lock held).
  void drop_cancelled(std::vector<std::shared_ptr<Job>>& dropped);
  //! Cuts the next batch of class `cls` from its queue (lock held).
  void cut_batch(Class cls, std::vector<Item>& items);
  //! Removes a job's untaken inputs from its queue and the counters (lock held).
  void unqueue(Job& job);
  //! Starts a forward task over `items` (prompts cached first); on failure completes the batch's jobs and returns
  //! nothing.
  std::optional<Running> start_batch(std::vector<Item> items, Class cls);
  //! Runs one step of `r`; true when the batch is finished (results delivered or jobs failed).
  bool step_batch(Running& r);
  //! Delivers a finished batch's vectors (or fails its jobs with `failure`).
  void finish_batch(Running& r, std::vector<float> pooled, const Error* failure);
  //! Caches the prompts of the batch's jobs; a job's first batch counts its hit or miss.
  void remember_prefixes(const std::vector<Job*>& jobs);
  //! Calls `done` once and releases the job's share of the admission bounds. `error` null: success.
  void complete(Job& job, const Error* error);
  //! Folds a measured (work, seconds) into the compute rate.
  void measure(double work, double seconds);
  //! Work bound of one bulk step, of one bulk batch (0: none).
  double step_work() const;
  double batch_work() const;

  std::unique_ptr<Engine> engine_;  // touched only by the worker (and by run_on_worker's functions on it)
  BatcherOptions options_;
  ServiceStats& stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_[2];          // per class: jobs with inputs not yet taken, oldest first
  std::deque<std::shared_ptr<Control>> controls_;      // run_on_worker calls waiting for the worker
  int64_t admitted_tokens_ = 0, admitted_inputs_ = 0;  // of jobs submitted and not completed
  double admitted_work_ = 0;
  size_t round_robin_[2] = {0, 0};  // per class: which queued job picks first in the next batch
  bool stopping_ = false;
  std::thread worker_;
  std::thread::id worker_id_;  // set once at construction: compared without touching worker_
  std::mutex stop_mu_;         // serializes stop() callers around join()

  // Worker-only state.
  std::unique_ptr<Running> bulk_;  // the bulk batch in progress, advanced one step at a time
  bool bulk_stepped_ = true;       // a bulk step ran since the last interactive batch
  double rate_ = 0;                // measured token-equivalents per second; 0: not measured yet
  double work_total_[2] = {0, 0};  // per class: token-equivalents computed (stats keep them rounded)
};

}  // namespace qembed::service
