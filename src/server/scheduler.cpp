#include "server/scheduler.hpp"

#include <algorithm>
#include <new>

namespace qembed::server {

Scheduler::Scheduler(Embedder& embedder, const SchedulerOptions& options, Metrics& metrics)
    : embedder_(embedder), options_(options), metrics_(metrics) {
  worker_ = std::thread([this] { worker_loop(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Admission Scheduler::submit(const std::shared_ptr<Job>& job) {
  const auto n_inputs = static_cast<int64_t>(job->seqs.size());
  if (job->n_tokens > options_.max_queue_tokens || n_inputs > options_.max_queue_inputs) return Admission::kTooLarge;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Admission::kStopping;
    if (admitted_tokens_ + job->n_tokens > options_.max_queue_tokens ||
        admitted_inputs_ + n_inputs > options_.max_queue_inputs) {
      return Admission::kBusy;
    }
    admitted_tokens_ += job->n_tokens;
    admitted_inputs_ += n_inputs;
    job->pooled.resize(job->seqs.size());
    job->queued_at = Clock::now();
    queue_.push_back(job);
    metrics_.queue_size += n_inputs;
    metrics_.queue_tokens += job->n_tokens;
    ++metrics_.requests_waiting;
  }
  cv_.notify_one();
  return Admission::kQueued;
}

void Scheduler::remember_prefixes(const std::vector<Job*>& jobs) {
  for (Job* job : jobs) {
    if (job->prefix_ids.empty()) continue;
    // Asked again on every batch of the job: an entry may have been evicted since its previous batch.
    const PrefixStatus status = embedder_.remember_prefix(job->prefix_ids);
    if (!job->prefix_counted && status != PrefixStatus::kNotCacheable) {
      job->prefix_counted = true;
      ++(status == PrefixStatus::kCached ? metrics_.prefix_hits_total : metrics_.prefix_misses_total);
    }
  }
  const PrefixCache& cache = embedder_.prefix_cache();
  metrics_.prefix_cache_bytes = cache.bytes();
  metrics_.prefix_cache_entries = cache.n_entries();
  metrics_.prefix_evictions_total = cache.evictions();
}

void Scheduler::complete(Job& job, bool ok, const std::string& error) {
  if (job.completed) return;
  job.completed = true;
  job.finished_at = Clock::now();
  {
    std::lock_guard lock(mu_);
    admitted_tokens_ -= job.n_tokens;
    admitted_inputs_ -= static_cast<int64_t>(job.seqs.size());
  }
  if (job.on_done) job.on_done(ok, error);
  job.on_done = nullptr;  // drop what the callback holds (the connection) as soon as it has run
}

void Scheduler::worker_loop() {
  for (;;) {
    std::vector<Item> items;
    std::vector<std::shared_ptr<Job>> dropped;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything admitted has been answered
      cut_batch(items, dropped);
    }
    for (auto& job : dropped) complete(*job, false, "the client disconnected");
    if (!items.empty()) run_batch(items);
  }
}

void Scheduler::cut_batch(std::vector<Item>& items, std::vector<std::shared_ptr<Job>>& dropped) {
  // Drop the jobs whose client has gone; their queued inputs are never computed.
  for (auto it = queue_.begin(); it != queue_.end();) {
    Job& job = **it;
    if (!job.cancelled->load()) {
      ++it;
      continue;
    }
    int64_t left_tokens = 0;
    for (size_t i = job.next; i < job.seqs.size(); ++i) left_tokens += static_cast<int64_t>(job.seqs[i].size());
    metrics_.queue_size -= static_cast<int64_t>(job.seqs.size() - job.next);
    metrics_.queue_tokens -= left_tokens;
    if (job.next == 0) --metrics_.requests_waiting;
    dropped.push_back(*it);
    it = queue_.erase(it);
  }
  if (queue_.empty()) return;

  // Round-robin passes over the queued jobs, one input per job per pass, starting from a rotating job so every
  // request gets to pick first; a job whose next input does not fit the budget sits out the rest of this batch.
  // An input longer than the whole budget runs alone.
  const size_t n_jobs = queue_.size();
  const size_t first = round_robin_++ % n_jobs;
  std::vector<bool> blocked(n_jobs, false);
  int64_t tokens = 0;
  bool progress = true;
  const auto max_inputs =
      options_.max_batch_requests > 0 ? static_cast<size_t>(options_.max_batch_requests) : static_cast<size_t>(-1);
  while (progress && items.size() < max_inputs) {
    progress = false;
    for (size_t k = 0; k < n_jobs && items.size() < max_inputs; ++k) {
      const size_t j = (first + k) % n_jobs;
      Job& job = *queue_[j];
      if (blocked[j] || job.next == job.seqs.size()) continue;
      const auto len = static_cast<int64_t>(job.seqs[job.next].size());
      if (!items.empty() && tokens + len > options_.max_batch_tokens) {
        blocked[j] = true;
        continue;
      }
      if (job.next == 0) {
        job.started_at = Clock::now();
        --metrics_.requests_waiting;
      }
      items.emplace_back(queue_[j], job.next++);
      tokens += len;
      progress = true;
      if (tokens >= options_.max_batch_tokens) break;
    }
    if (tokens >= options_.max_batch_tokens) break;
  }
  metrics_.queue_size -= static_cast<int64_t>(items.size());
  metrics_.queue_tokens -= tokens;
  std::erase_if(queue_, [](const std::shared_ptr<Job>& j) { return j->next == j->seqs.size(); });
}

void Scheduler::run_batch(std::vector<Item>& items) {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(items.size());
  int64_t tokens = 0;
  std::vector<Job*> jobs;  // distinct jobs of this batch
  for (auto& [job, i] : items) {
    tokens += static_cast<int64_t>(job->seqs[i].size());
    seqs.push_back(std::move(job->seqs[i]));  // the ids are not needed after this batch
    if (std::find(jobs.begin(), jobs.end(), job.get()) == jobs.end()) jobs.push_back(job.get());
  }
  metrics_.requests_running = static_cast<int64_t>(jobs.size());
  metrics_.batch(static_cast<int64_t>(seqs.size()), tokens);

  std::vector<std::vector<float>> pooled;
  std::vector<int64_t> reused;
  std::string error;
  try {
    remember_prefixes(jobs);
    pooled = embedder_.embed(seqs, &reused);
  } catch (const std::bad_alloc&) {
    error = "out of memory while computing the batch";
  } catch (const std::exception& e) {
    error = std::string("inference failed: ") + e.what();
  }
  metrics_.requests_running = 0;
  if (!error.empty()) {
    for (Job* job : jobs) {
      *job->cancelled = true;  // its queued inputs are dropped by the next cut
      complete(*job, false, error);
    }
    return;
  }
  metrics_.tokens_total += tokens;
  metrics_.inputs_total += static_cast<int64_t>(seqs.size());
  for (int64_t n : reused) {
    metrics_.prefix_tokens_reused_total += n;
    metrics_.prefix_inputs_reused_total += n > 0;
  }
  for (size_t k = 0; k < items.size(); ++k) {
    Job& job = *items[k].first;
    job.pooled[items[k].second] = std::move(pooled[k]);
    if (++job.done == job.pooled.size()) complete(job, true, "");
  }
}

}  // namespace qembed::server
