#pragma once
// The inference worker: ONE thread owns the Embedder. HTTP threads submit jobs (a request's tokenized inputs) and
// are called back when every input is computed. Batches are cut from the queue by a token budget, taking inputs
// round-robin across the queued requests (oldest first) so a request with thousands of inputs does not starve a
// short one queued behind it. Sequences are packed without padding; the engine guarantees a sequence's vector
// does not depend on its batch. Admission bounds the queued tokens and inputs, so memory stays within the bound
// printed at start-up.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/embedder.hpp"
#include "server/metrics.hpp"

namespace qembed::server {

using Clock = std::chrono::steady_clock;

//! One request's inputs on their way through the queue.
struct Job {
  std::vector<std::vector<int32_t>> seqs;  //!< model input ids, EOS included
  //! The ids of the prompt every input starts with (no EOS), or empty: the worker makes sure its K/V are in the
  //! prefix cache before computing the job's inputs, which then start from them.
  std::vector<int32_t> prefix_ids;
  std::vector<std::vector<float>> pooled;  //!< (n_seqs, n_embd) once computed
  //! Set (by the connection) when the client disconnects: the job's inputs not yet computed are dropped.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  //! Called once on the worker thread: ok=false with a message when the job failed or was cancelled.
  std::function<void(bool ok, const std::string& error)> on_done;

  Clock::time_point queued_at, started_at, finished_at;
  int64_t n_tokens = 0;

  // Worker-only state.
  size_t next = 0;              //!< first input not yet taken into a batch
  size_t done = 0;              //!< inputs computed
  bool completed = false;       //!< on_done was called
  bool prefix_counted = false;  //!< the prompt's cache hit or miss is in the metrics
};

//! What submit() did with a job.
enum class Admission {
  kQueued,    //!< will be computed
  kBusy,      //!< the queue is full right now: retry later (429)
  kTooLarge,  //!< larger than the whole queue bound (413)
  kStopping,  //!< shutting down (503)
};

struct SchedulerOptions {
  int64_t max_batch_tokens = 16384;
  int64_t max_batch_requests = 0;  //!< inputs per batch; 0: no limit
  int64_t max_queue_tokens = 131072;
  int64_t max_queue_inputs = 16384;
};

class Scheduler {
 public:
  //! Starts the worker thread. `embedder` must outlive the scheduler and is used only by the worker.
  Scheduler(Embedder& embedder, const SchedulerOptions& options, Metrics& metrics);
  ~Scheduler();

  //! Queues a job unless it would push the admitted (not yet finished) tokens or inputs past their bounds.
  Admission submit(const std::shared_ptr<Job>& job);

  const SchedulerOptions& options() const { return options_; }

  //! Finishes the queued jobs, then joins the worker.
  void stop();

 private:
  void worker_loop();
  //! Cuts the next batch from the queue (lock held). Cancelled jobs are completed and dropped here.
  using Item = std::pair<std::shared_ptr<Job>, size_t>;  // (job, input index)
  void cut_batch(std::vector<Item>& items, std::vector<std::shared_ptr<Job>>& dropped);
  void run_batch(std::vector<Item>& items);
  //! Caches the prompts of the batch's jobs (a job's first batch counts a hit or a miss).
  void remember_prefixes(const std::vector<Job*>& jobs);
  //! Calls on_done once and releases the job's share of the admission bounds.
  void complete(Job& job, bool ok, const std::string& error);

  Embedder& embedder_;
  SchedulerOptions options_;
  Metrics& metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;             // jobs with inputs not yet taken, oldest first
  int64_t admitted_tokens_ = 0, admitted_inputs_ = 0;  // of jobs submitted and not completed
  size_t round_robin_ = 0;                             // which queued job picks first in the next batch
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace qembed::server
