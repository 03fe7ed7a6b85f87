#pragma once
// The batcher: ONE worker thread owns the Engine. Front ends submit encoded requests (any thread) and are called
// back on the worker when every input is computed and finished (dimensions, normalization, finite check). Batches
// are cut from the queue by a token budget, taking inputs round-robin across the queued requests (starting from a
// rotating one) so a request with thousands of inputs does not starve a short one queued behind it. Sequences are
// packed without padding; the engine guarantees a sequence's vector does not depend on its batch. Admission
// bounds the queued tokens and inputs, so memory stays within the bound a server prints at start-up.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "service/embedding_service.hpp"

namespace qembed {
class Engine;
}

namespace qembed::service {

struct BatcherOptions {
  int64_t max_batch_tokens = 16384;   //!< tokens per forward batch, cached prompt positions included
  int64_t max_batch_inputs = 0;       //!< inputs per forward batch; 0: no limit
  int64_t max_queue_tokens = 262144;  //!< tokens admitted and not finished
  int64_t max_queue_inputs = 16384;   //!< inputs admitted and not finished
};

class Batcher {
 public:
  //! Starts the worker thread, which owns `engine` from now on. `stats` must outlive the batcher.
  Batcher(std::unique_ptr<Engine> engine, const BatcherOptions& options, ServiceStats& stats);
  //! stop(), then destroys the Engine.
  ~Batcher();

  //! Queues a request unless it would push the admitted (not yet finished) tokens or inputs past their bounds.
  //! `done` is called exactly once when the result is Admission::kQueued: on the worker, or at once on the calling
  //! thread for a request without inputs.
  Admission submit(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled);

  //! Runs `fn` on the worker between two batches (the Engine is single-threaded) and waits for it; rethrows what
  //! it throws. Throws a kLimit Error once stopping.
  void run_on_worker(const std::function<void(Engine&)>& fn);

  //! Finishes everything admitted (requests whose `cancelled` is set are dropped at the next batch boundary),
  //! then joins the worker. Later submits answer kStopping. Idempotent.
  void stop();

  const BatcherOptions& options() const { return options_; }

 private:
  struct Job;
  struct Control;
  using Item = std::pair<std::shared_ptr<Job>, size_t>;  // (job, input index)

  void worker_loop();
  //! Cuts the next batch from the queue (lock held); cancelled jobs are removed and returned in `dropped`.
  void cut_batch(std::vector<Item>& items, std::vector<std::shared_ptr<Job>>& dropped);
  //! Removes a job's untaken inputs from the queue and its counters (lock held).
  void unqueue(Job& job);
  void run_batch(std::vector<Item>& items);
  //! Caches the prompts of the batch's jobs; a job's first batch counts its hit or miss.
  void remember_prefixes(const std::vector<Job*>& jobs);
  //! Calls `done` once and releases the job's share of the admission bounds. `error` null: success.
  void complete(Job& job, const Error* error);

  std::unique_ptr<Engine> engine_;  // touched only by the worker (and by run_on_worker's functions on it)
  BatcherOptions options_;
  ServiceStats& stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;             // jobs with inputs not yet taken, oldest first
  std::deque<std::shared_ptr<Control>> controls_;      // run_on_worker calls waiting for the worker
  int64_t admitted_tokens_ = 0, admitted_inputs_ = 0;  // of jobs submitted and not completed
  size_t round_robin_ = 0;                             // which queued job picks first in the next batch
  bool stopping_ = false;
  std::thread worker_;
  std::thread::id worker_id_;  // set once at construction: compared without touching worker_
  std::mutex stop_mu_;         // serializes stop() callers around join()
};

}  // namespace qembed::service
