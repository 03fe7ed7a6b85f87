#include "service/batcher.hpp"

#include <algorithm>
#include <future>
#include <new>
#include <span>

#include "common/log.hpp"
#include "engine/engine.hpp"
#include "service/embedding_rules.hpp"

namespace qembed::service {

using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

//! One request on its way through the queue.
struct Batcher::Job {
  EncodedRequest req;
  EmbedDone done;
  std::shared_ptr<std::atomic<bool>> cancelled;  // may be null
  EmbedResult result;                            // vectors filled in as inputs finish
  Clock::time_point queued_at, started_at;
  int64_t n_inputs = 0;
  int64_t queued_tokens = 0;  // tokens of the inputs not yet taken into a batch
  // Worker-side state (the fields the queue shares are touched under mu_).
  size_t next = 0;              // first input not yet taken into a batch
  size_t n_done = 0;            // inputs finished
  bool in_queue = true;         // still has inputs in queue_
  bool completed = false;       // done was called
  bool prefix_counted = false;  // the prompt's cache hit or miss is in the stats

  bool is_cancelled() const { return cancelled && cancelled->load(); }
};

//! A function to run on the worker between batches.
struct Batcher::Control {
  std::function<void(Engine&)> fn;
  std::promise<void> finished;
};

Batcher::Batcher(std::unique_ptr<Engine> engine, const BatcherOptions& options, ServiceStats& stats)
    : engine_(std::move(engine)), options_(options), stats_(stats) {
  worker_ = std::thread([this] { worker_loop(); });
  worker_id_ = worker_.get_id();
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard lock(stop_mu_);
  if (worker_.joinable() && worker_id_ != std::this_thread::get_id()) worker_.join();
}

Admission Batcher::submit(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled) {
  auto job = std::make_shared<Job>();
  job->n_inputs = static_cast<int64_t>(request.seqs.size());
  int64_t tokens = 0;
  for (const auto& s : request.seqs) tokens += static_cast<int64_t>(s.size());
  request.n_tokens = tokens;
  if (tokens > options_.max_queue_tokens || job->n_inputs > options_.max_queue_inputs) return Admission::kTooLarge;
  job->queued_tokens = tokens;
  job->result.vectors.resize(request.seqs.size());
  job->result.n_tokens.reserve(request.seqs.size());
  for (const auto& s : request.seqs) job->result.n_tokens.push_back(static_cast<int64_t>(s.size()));
  job->result.total_tokens = tokens;
  job->req = std::move(request);
  job->done = std::move(done);
  job->cancelled = std::move(cancelled);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Admission::kStopping;
    if (admitted_tokens_ + tokens > options_.max_queue_tokens ||
        admitted_inputs_ + job->n_inputs > options_.max_queue_inputs) {
      return Admission::kBusy;
    }
    admitted_tokens_ += tokens;
    admitted_inputs_ += job->n_inputs;
    job->queued_at = Clock::now();
    stats_.admitted_tokens += tokens;
    if (job->n_inputs == 0) {
      job->in_queue = false;  // nothing to compute: completed below, on this thread
    } else {
      queue_.push_back(job);
      stats_.queue_inputs += job->n_inputs;
      stats_.queue_tokens += tokens;
      ++stats_.requests_waiting;
    }
  }
  if (job->n_inputs == 0) {
    complete(*job, nullptr);
  } else {
    cv_.notify_one();
  }
  return Admission::kQueued;
}

void Batcher::run_on_worker(const std::function<void(Engine&)>& fn) {
  if (std::this_thread::get_id() == worker_id_) return fn(*engine_);  // from a completion callback
  auto control = std::make_shared<Control>();
  control->fn = fn;
  std::future<void> finished = control->finished.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw LimitError("the embedding service is stopping");
    controls_.push_back(control);
  }
  cv_.notify_one();
  finished.get();
}

void Batcher::worker_loop() {
  for (;;) {
    std::vector<Item> items;
    std::vector<std::shared_ptr<Job>> dropped;
    std::deque<std::shared_ptr<Control>> controls;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !controls_.empty(); });
      if (!controls_.empty()) {
        controls.swap(controls_);
      } else if (queue_.empty()) {
        return;  // stopping, and everything admitted has been answered
      } else {
        cut_batch(items, dropped);
      }
    }
    for (auto& c : controls) {
      try {
        c->fn(*engine_);
        c->finished.set_value();
      } catch (...) {
        c->finished.set_exception(std::current_exception());
      }
    }
    if (!dropped.empty()) {
      const Error cancelled = LimitError("the request was cancelled");
      for (auto& job : dropped) complete(*job, &cancelled);
    }
    if (!items.empty()) run_batch(items);
  }
}

void Batcher::unqueue(Job& job) {
  if (!job.in_queue) return;
  job.in_queue = false;
  std::erase_if(queue_, [&](const std::shared_ptr<Job>& j) { return j.get() == &job; });
  stats_.queue_inputs -= job.n_inputs - static_cast<int64_t>(job.next);
  stats_.queue_tokens -= job.queued_tokens;
  job.queued_tokens = 0;
  if (job.next == 0) --stats_.requests_waiting;
}

void Batcher::cut_batch(std::vector<Item>& items, std::vector<std::shared_ptr<Job>>& dropped) {
  // Drop the requests whose caller has gone; their queued inputs are never computed.
  for (size_t j = 0; j < queue_.size();) {
    if (queue_[j]->is_cancelled()) {
      dropped.push_back(queue_[j]);
      unqueue(*queue_[j]);
    } else {
      ++j;
    }
  }
  if (queue_.empty()) return;

  // Round-robin passes over the queued jobs, one input per job per pass, starting from a rotating job so every
  // request gets to pick first; a job whose next input does not fit the budget sits out the rest of this batch.
  // An input longer than the whole budget runs alone.
  const size_t n_jobs = queue_.size();
  const size_t first = round_robin_++ % n_jobs;
  std::vector<bool> blocked(n_jobs, false);
  int64_t tokens = 0;
  const auto max_inputs =
      options_.max_batch_inputs > 0 ? static_cast<size_t>(options_.max_batch_inputs) : static_cast<size_t>(-1);
  bool progress = true;
  while (progress && items.size() < max_inputs && tokens < options_.max_batch_tokens) {
    progress = false;
    for (size_t k = 0; k < n_jobs && items.size() < max_inputs && tokens < options_.max_batch_tokens; ++k) {
      const size_t j = (first + k) % n_jobs;
      Job& job = *queue_[j];
      if (blocked[j] || job.next == job.req.seqs.size()) continue;
      const auto len = static_cast<int64_t>(job.req.seqs[job.next].size());
      if (!items.empty() && tokens + len > options_.max_batch_tokens) {
        blocked[j] = true;
        continue;
      }
      if (job.next == 0) {
        job.started_at = Clock::now();
        --stats_.requests_waiting;
      }
      items.emplace_back(queue_[j], job.next++);
      job.queued_tokens -= len;
      tokens += len;
      progress = true;
    }
  }
  stats_.queue_inputs -= static_cast<int64_t>(items.size());
  stats_.queue_tokens -= tokens;
  for (auto& [job, i] : items) {
    if (job->next == job->req.seqs.size()) job->in_queue = false;
  }
  std::erase_if(queue_, [](const std::shared_ptr<Job>& j) { return !j->in_queue; });
}

void Batcher::remember_prefixes(const std::vector<Job*>& jobs) {
  for (Job* job : jobs) {
    if (job->req.prompt_ids.empty()) continue;
    // Asked again on every batch of the job: an entry may have been evicted since its previous batch.
    const PrefixStatus status = engine_->remember_prefix(job->req.prompt_ids);
    if (!job->prefix_counted && status != PrefixStatus::kNotCacheable) {
      job->prefix_counted = true;
      ++(status == PrefixStatus::kCached ? stats_.prefix_hits_total : stats_.prefix_misses_total);
    }
  }
}

void Batcher::run_batch(std::vector<Item>& items) {
  std::vector<std::span<const int32_t>> seqs;
  seqs.reserve(items.size());
  int64_t tokens = 0;
  std::vector<Job*> jobs;  // distinct jobs of this batch
  for (auto& [job, i] : items) {
    seqs.emplace_back(job->req.seqs[i]);
    tokens += static_cast<int64_t>(job->req.seqs[i].size());
    if (std::find(jobs.begin(), jobs.end(), job.get()) == jobs.end()) jobs.push_back(job.get());
  }
  stats_.requests_running = static_cast<int64_t>(jobs.size());
  const Clock::time_point t0 = Clock::now();

  std::vector<float> pooled;
  std::vector<int64_t> reused;
  std::optional<Error> failure;
  try {
    remember_prefixes(jobs);
    std::unique_ptr<ForwardTask> task = engine_->start(seqs, &reused);
    while (!task->step()) {
      // Seam: a scheduler that interleaves work (a short batch, a prompt capture) runs it here, between two steps
      // of a long batch. Today a batch runs to its end.
    }
    pooled = task->take_output();
  } catch (const std::bad_alloc&) {
    failure = LimitError("out of memory while computing a batch of " + std::to_string(tokens) + " tokens");
  } catch (const std::exception& e) {
    failure = InternalError(std::string("inference failed: ") + e.what());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  stats_.requests_running = 0;
  const int64_t n_embd = engine_->config().n_embd;
  if (!failure && static_cast<int64_t>(pooled.size()) != static_cast<int64_t>(items.size()) * n_embd) {
    failure = InternalError("inference returned " + std::to_string(pooled.size()) + " values for " +
                            std::to_string(items.size()) + " inputs of " + std::to_string(n_embd));
  }
  const PrefixCache& cache = engine_->prefix_cache();
  stats_.prefix_cache_bytes = cache.bytes();
  stats_.prefix_cache_entries = cache.n_entries();
  stats_.prefix_evictions_total = cache.evictions();
  if (failure) {
    log::error("batch failed",
               {log::field("inputs", static_cast<int64_t>(items.size())), log::field("tokens", tokens),
                log::field("kind", error_kind_name(failure->kind())), log::field("error", failure->what())});
    for (Job* job : jobs) complete(*job, &*failure);
    return;
  }
  ++stats_.batches_total;
  stats_.tokens_total += tokens;
  stats_.inputs_total += static_cast<int64_t>(items.size());
  for (int64_t n : reused) {
    stats_.prefix_tokens_reused_total += n;
    stats_.prefix_inputs_reused_total += n > 0;
  }
  if (stats_.on_batch) stats_.on_batch(static_cast<int64_t>(items.size()), tokens, seconds);

  // Finish each vector here, in the service: no front end calls finalize itself.
  for (size_t k = 0; k < items.size(); ++k) {
    Job& job = *items[k].first;
    const size_t i = items[k].second;
    std::vector<int32_t>().swap(job.req.seqs[i]);  // the ids are not needed after their batch
    if (job.completed) continue;                   // failed on an earlier input of this batch
    try {
      job.result.vectors[i] = finalize_embedding(
          std::span<const float>(pooled.data() + static_cast<int64_t>(k) * n_embd, static_cast<size_t>(n_embd)),
          job.req.dimensions, job.req.normalize, job.req.first_index + static_cast<int64_t>(i));
    } catch (const Error& e) {
      complete(job, &e);
      continue;
    }
    if (++job.n_done == job.result.vectors.size()) complete(job, nullptr);
  }
}

void Batcher::complete(Job& job, const Error* error) {
  if (job.completed) return;
  job.completed = true;
  {
    std::lock_guard lock(mu_);
    unqueue(job);  // a failed job's inputs still queued are never computed
    admitted_tokens_ -= job.result.total_tokens;
    admitted_inputs_ -= job.n_inputs;
  }
  stats_.admitted_tokens -= job.result.total_tokens;
  const Clock::time_point now = Clock::now();
  const bool started = job.started_at != Clock::time_point{};
  job.result.queue_ms = ms_between(job.queued_at, started ? job.started_at : now);
  job.result.compute_ms = started ? ms_between(job.started_at, now) : 0;
  if (error) job.result.vectors.clear();
  EmbedDone done = std::move(job.done);
  job.done = nullptr;  // drop what the callback holds (a connection) as soon as it has run
  if (!done) return;
  try {
    done(std::move(job.result), error);
  } catch (const std::exception& e) {
    log::error("an embedding completion callback threw", {log::field("error", e.what())});
  } catch (...) {
    log::error("an embedding completion callback threw");
  }
}

}  // namespace qembed::service
