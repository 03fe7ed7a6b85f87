#include "service/batcher.hpp"

#include <algorithm>
#include <cmath>
#include <future>
#include <new>
#include <span>

#include "common/log.hpp"
#include "engine/engine.hpp"
#include "service/embedding_rules.hpp"
#include "service/rerank_rules.hpp"

namespace qembed::service {

using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Before the first measurement: a bulk step of this much work (about 2 tokens of the 0.6B shape through all its
// layers, a few ms on any machine), and bulk batches by tokens only.
constexpr double kFirstStepWork = 2;
// A bulk batch below this many tokens reads the weights for too few rows to be efficient.
constexpr int64_t kMinBulkBatchTokens = 256;

//! What a request whose caller has gone is completed with (also an abandoned batch's; not logged as a failure).
const Error& cancelled_error() {
  static const Error e = LimitError("the request was cancelled");
  return e;
}

}  // namespace

//! One request on its way through the queue.
struct Batcher::Job {
  EncodedRequest req;
  EmbedDone done;
  std::shared_ptr<std::atomic<bool>> cancelled;  // may be null
  EmbedResult result;                            // vectors filled in as inputs finish
  Clock::time_point queued_at, started_at;
  Class cls = kBulk;
  int64_t n_inputs = 0;
  int64_t queued_tokens = 0;  // tokens of the inputs not yet taken into a batch
  double work = 0;            // token-equivalents of all its inputs (admission)
  // Worker-side state (the fields the queue shares are touched under mu_).
  size_t next = 0;              // first input not yet taken into a batch
  size_t n_done = 0;            // inputs finished
  bool in_queue = true;         // still has inputs in its queue
  bool completed = false;       // done was called
  bool prefix_counted = false;  // the prompt's cache hit or miss is in the stats

  bool is_cancelled() const { return cancelled && cancelled->load(); }
};

//! A function to run on the worker between steps.
struct Batcher::Control {
  std::function<void(Engine&)> fn;
  std::promise<void> finished;
};

//! A batch whose forward task is in progress.
struct Batcher::Running {
  std::vector<Item> items;
  std::vector<Job*> jobs;  // distinct jobs of the batch
  std::unique_ptr<ForwardTask> task;
  std::vector<int64_t> reused;  // per item: positions taken from the prefix cache
  int64_t tokens = 0;
  Class cls = kBulk;
  Clock::time_point t0;
  double compute_s = 0;  // time spent in this batch's steps (interleaved work excluded)
};

Batcher::Batcher(std::unique_ptr<Engine> engine, const BatcherOptions& options, ServiceStats& stats)
    : engine_(std::move(engine)), options_(options), stats_(stats) {
  if (options_.max_queue_work <= 0) options_.max_queue_work = static_cast<double>(options_.max_queue_tokens);
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

double Batcher::work_of(const std::vector<std::vector<int32_t>>& seqs) const {
  double work = 0;
  for (const auto& s : seqs) work += options_.cost.sequence(static_cast<int64_t>(s.size()));
  return work;
}

Admission Batcher::submit(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled) {
  auto job = std::make_shared<Job>();
  job->n_inputs = static_cast<int64_t>(request.seqs.size());
  int64_t tokens = 0;
  for (const auto& s : request.seqs) tokens += static_cast<int64_t>(s.size());
  request.n_tokens = tokens;
  job->work = work_of(request.seqs);
  if (tokens > options_.max_queue_tokens || job->n_inputs > options_.max_queue_inputs ||
      job->work > options_.max_queue_work) {
    return Admission::kTooLarge;
  }
  switch (request.priority) {
    case Priority::kInteractive:
      job->cls = kInteractive;
      break;
    case Priority::kBulk:
      job->cls = kBulk;
      break;
    case Priority::kAuto:
      job->cls = tokens <= options_.interactive_max_tokens ? kInteractive : kBulk;
      break;
  }
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
        admitted_inputs_ + job->n_inputs > options_.max_queue_inputs ||
        admitted_work_ + job->work > options_.max_queue_work) {
      return Admission::kBusy;
    }
    admitted_tokens_ += tokens;
    admitted_inputs_ += job->n_inputs;
    admitted_work_ += job->work;
    job->queued_at = Clock::now();
    stats_.admitted_tokens += tokens;
    stats_.admitted_work = static_cast<int64_t>(admitted_work_);
    if (job->n_inputs == 0) {
      job->in_queue = false;  // nothing to compute: completed below, on this thread
    } else {
      queue_[job->cls].push_back(job);
      stats_.queue_inputs += job->n_inputs;
      stats_.queue_tokens += tokens;
      ++stats_.requests_waiting;
      if (job->cls == kInteractive) ++stats_.interactive_requests_total;
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
    Class cls = kBulk;
    std::vector<std::shared_ptr<Job>> dropped;
    std::deque<std::shared_ptr<Control>> controls;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return stopping_ || bulk_ || !queue_[kInteractive].empty() || !queue_[kBulk].empty() || !controls_.empty();
      });
      if (!controls_.empty()) {
        controls.swap(controls_);
      } else {
        drop_cancelled(dropped);
        // Interactive work first — but one bulk step after each interactive batch, so bulk always moves.
        if (!queue_[kInteractive].empty() && (!bulk_ || bulk_stepped_)) {
          cls = kInteractive;
          cut_batch(kInteractive, items);
        } else if (!bulk_ && !queue_[kBulk].empty()) {
          cut_batch(kBulk, items);
        } else if (!bulk_ && queue_[kInteractive].empty() && queue_[kBulk].empty() && stopping_ && dropped.empty()) {
          return;  // stopping, and everything admitted has been answered
        }
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
      for (auto& job : dropped) complete(*job, &cancelled_error());
    }
    if (!controls.empty()) continue;

    if (cls == kInteractive && !items.empty()) {
      // Run to its end: interactive batches are short, and whoever waits for them is waiting now.
      if (bulk_) ++stats_.preemptions_total;
      if (std::optional<Running> r = start_batch(std::move(items), kInteractive)) {
        while (!step_batch(*r)) {
        }
      }
      bulk_stepped_ = false;
      continue;
    }
    if (!items.empty()) {
      if (std::optional<Running> r = start_batch(std::move(items), kBulk)) {
        bulk_ = std::make_unique<Running>(std::move(*r));
      }
    }
    if (!bulk_) continue;
    // A bulk batch whose callers have all gone (or were answered at a shutdown deadline) is abandoned between steps.
    const bool all_cancelled = std::all_of(bulk_->jobs.begin(), bulk_->jobs.end(),
                                           [](const Job* j) { return j->completed || j->is_cancelled(); });
    if (all_cancelled) {
      finish_batch(*bulk_, {}, &cancelled_error());
      bulk_.reset();
      continue;
    }
    bulk_->task->set_step_work(step_work());
    if (step_batch(*bulk_)) bulk_.reset();
    bulk_stepped_ = true;
  }
}

void Batcher::drop_cancelled(std::vector<std::shared_ptr<Job>>& dropped) {
  // The requests whose caller has gone: their queued inputs are never computed.
  for (auto& queue : queue_) {
    for (size_t j = 0; j < queue.size();) {
      if (queue[j]->is_cancelled()) {
        dropped.push_back(queue[j]);
        unqueue(*queue[j]);  // erases queue[j]
      } else {
        ++j;
      }
    }
  }
}

void Batcher::unqueue(Job& job) {
  if (!job.in_queue) return;
  job.in_queue = false;
  std::erase_if(queue_[job.cls], [&](const std::shared_ptr<Job>& j) { return j.get() == &job; });
  stats_.queue_inputs -= job.n_inputs - static_cast<int64_t>(job.next);
  stats_.queue_tokens -= job.queued_tokens;
  job.queued_tokens = 0;
  if (job.next == 0) --stats_.requests_waiting;
}

double Batcher::step_work() const {
  if (options_.max_step_ms <= 0) return 0;
  return rate_ > 0 ? rate_ * options_.max_step_ms / 1000.0 : kFirstStepWork;
}

double Batcher::batch_work() const {
  if (options_.max_batch_ms <= 0 || rate_ <= 0) return 0;
  return std::max(rate_ * options_.max_batch_ms / 1000.0, static_cast<double>(kMinBulkBatchTokens));
}

void Batcher::measure(double work, double seconds) {
  if (work <= 0 || seconds <= 0) return;
  const double rate = work / seconds;
  rate_ = rate_ > 0 ? 0.8 * rate_ + 0.2 * rate : rate;
  stats_.work_per_second = static_cast<int64_t>(rate_);
}

void Batcher::cut_batch(Class cls, std::vector<Item>& items) {
  std::deque<std::shared_ptr<Job>>& queue = queue_[cls];
  if (queue.empty()) return;
  // Round-robin passes over the queued jobs, one input per job per pass, starting from a rotating job so every
  // request gets to pick first; a job whose next input does not fit the budget sits out the rest of this batch.
  // An input longer than the whole budget runs alone.
  const size_t n_jobs = queue.size();
  const size_t first = round_robin_[cls]++ % n_jobs;
  std::vector<bool> blocked(n_jobs, false);
  int64_t tokens = 0;
  double work = 0;
  const double max_work = cls == kBulk ? batch_work() : 0;
  const auto max_inputs =
      options_.max_batch_inputs > 0 ? static_cast<size_t>(options_.max_batch_inputs) : static_cast<size_t>(-1);
  auto room = [&] {
    return items.size() < max_inputs && tokens < options_.max_batch_tokens && (max_work <= 0 || work < max_work);
  };
  bool progress = true;
  while (progress && room()) {
    progress = false;
    for (size_t k = 0; k < n_jobs && room(); ++k) {
      const size_t j = (first + k) % n_jobs;
      Job& job = *queue[j];
      if (blocked[j] || job.next == job.req.seqs.size()) continue;
      const auto len = static_cast<int64_t>(job.req.seqs[job.next].size());
      const double len_work = options_.cost.sequence(len);
      if (!items.empty() &&
          (tokens + len > options_.max_batch_tokens || (max_work > 0 && work + len_work > max_work))) {
        blocked[j] = true;
        continue;
      }
      if (job.next == 0) {
        job.started_at = Clock::now();
        --stats_.requests_waiting;
      }
      items.emplace_back(queue[j], job.next++);
      job.queued_tokens -= len;
      tokens += len;
      work += len_work;
      progress = true;
    }
  }
  stats_.queue_inputs -= static_cast<int64_t>(items.size());
  stats_.queue_tokens -= tokens;
  for (auto& [job, i] : items) {
    if (job->next == job->req.seqs.size()) job->in_queue = false;
  }
  std::erase_if(queue, [](const std::shared_ptr<Job>& j) { return !j->in_queue; });
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

namespace {

std::optional<Error> failure_of(const std::exception_ptr& e, int64_t tokens) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return LimitError("out of memory while computing a batch of " + std::to_string(tokens) + " tokens");
  } catch (const std::exception& ex) {
    return InternalError(std::string("inference failed: ") + ex.what());
  } catch (...) {
    return InternalError("inference failed");
  }
}

}  // namespace

std::optional<Batcher::Running> Batcher::start_batch(std::vector<Item> items, Class cls) {
  Running r;
  r.items = std::move(items);
  r.cls = cls;
  std::vector<std::span<const int32_t>> seqs;
  seqs.reserve(r.items.size());
  for (auto& [job, i] : r.items) {
    seqs.emplace_back(job->req.seqs[i]);
    r.tokens += static_cast<int64_t>(job->req.seqs[i].size());
    if (std::find(r.jobs.begin(), r.jobs.end(), job.get()) == r.jobs.end()) r.jobs.push_back(job.get());
  }
  stats_.requests_running += static_cast<int64_t>(r.jobs.size());
  r.t0 = Clock::now();
  try {
    remember_prefixes(r.jobs);
    r.task = engine_->start(seqs, &r.reused);
  } catch (...) {
    const std::optional<Error> failure = failure_of(std::current_exception(), r.tokens);
    finish_batch(r, {}, &*failure);
    return std::nullopt;
  }
  r.compute_s = seconds_between(r.t0, Clock::now());
  return r;
}

bool Batcher::step_batch(Running& r) {
  const Clock::time_point t0 = Clock::now();
  const double work0 = r.task->work_done();
  bool done = false;
  std::optional<Error> failure;
  std::vector<float> pooled;
  try {
    done = r.task->step();
    if (done) pooled = r.task->take_output();
  } catch (...) {
    failure = failure_of(std::current_exception(), r.tokens);
  }
  const double seconds = seconds_between(t0, Clock::now());
  r.compute_s += seconds;
  const double work = failure ? 0 : r.task->work_done() - work0;
  work_total_[r.cls] += work;
  (r.cls == kBulk ? stats_.bulk_work_total : stats_.interactive_work_total) = std::llround(work_total_[r.cls]);
  // Only bulk steps set the rate bulk steps are sized by (an interactive batch of a few tokens runs far below it).
  if (r.cls == kBulk) measure(work, seconds);
  if (failure) {
    finish_batch(r, {}, &*failure);
    return true;
  }
  if (done) finish_batch(r, std::move(pooled), nullptr);
  return done;
}

void Batcher::finish_batch(Running& r, std::vector<float> pooled, const Error* failure) {
  r.task.reset();  // its batch-sized buffers go now
  stats_.requests_running -= static_cast<int64_t>(r.jobs.size());
  const int64_t width = engine_->output_width();
  const bool rank = engine_->head() == OutputHead::kRankLogits;
  std::optional<Error> mismatch;
  if (!failure && static_cast<int64_t>(pooled.size()) != static_cast<int64_t>(r.items.size()) * width) {
    mismatch = InternalError("inference returned " + std::to_string(pooled.size()) + " values for " +
                             std::to_string(r.items.size()) + " inputs of " + std::to_string(width));
    failure = &*mismatch;
  }
  const PrefixCache& cache = engine_->prefix_cache();
  stats_.prefix_cache_bytes = cache.bytes();
  stats_.prefix_cache_entries = cache.n_entries();
  stats_.prefix_evictions_total = cache.evictions();
  if (failure) {
    if (failure != &cancelled_error()) {
      log::error("batch failed",
                 {log::field("inputs", static_cast<int64_t>(r.items.size())), log::field("tokens", r.tokens),
                  log::field("kind", error_kind_name(failure->kind())), log::field("error", failure->what())});
    }
    for (Job* job : r.jobs) complete(*job, failure);
    return;
  }
  ++stats_.batches_total;
  stats_.tokens_total += r.tokens;
  stats_.inputs_total += static_cast<int64_t>(r.items.size());
  for (int64_t n : r.reused) {
    stats_.prefix_tokens_reused_total += n;
    stats_.prefix_inputs_reused_total += n > 0;
  }
  if (stats_.on_batch) stats_.on_batch(static_cast<int64_t>(r.items.size()), r.tokens, r.compute_s);

  // Finish each vector here, in the service: no front end calls finalize itself.
  for (size_t k = 0; k < r.items.size(); ++k) {
    Job& job = *r.items[k].first;
    const size_t i = r.items[k].second;
    std::vector<int32_t> ids;
    ids.swap(job.req.seqs[i]);    // the ids are not needed after their batch (but by the cache, below)
    if (job.completed) continue;  // failed on an earlier input of this batch
    try {
      const std::span<const float> out(pooled.data() + static_cast<int64_t>(k) * width, static_cast<size_t>(width));
      const int64_t index =
          job.req.input_indices.empty() ? job.req.first_index + static_cast<int64_t>(i) : job.req.input_indices[i];
      if (rank) {
        rank_score(out, index);  // checks the logits are finite; the front end reads the score from them
        job.result.vectors[i].assign(out.begin(), out.end());
      } else {
        job.result.vectors[i] = finalize_embedding(out, job.req.dimensions, job.req.normalize, index);
        if (options_.on_pooled) options_.on_pooled(ids, out);  // finite: finalize_embedding checked it
      }
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
    admitted_work_ -= job.work;
    if (admitted_inputs_ == 0) admitted_work_ = 0;  // no drift from floating-point sums
    stats_.admitted_work = static_cast<int64_t>(admitted_work_);
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
