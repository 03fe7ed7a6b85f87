#pragma once
// Prometheus metrics (text exposition format 0.0.4), all prefixed qembed_. Metrics only count: admission is
// ConcurrencyLimiter's and the service's job. Counters and histograms are updated from the HTTP threads and the
// service's worker; render() takes a consistent-enough snapshot under one mutex.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/admission.hpp"
#include "server/http/transport_stats.hpp"
#include "service/service_stats.hpp"

namespace qembed::server {

//! A cumulative histogram with fixed upper bounds (le) plus +Inf.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  //! Appends `name_bucket{le=...}`, `name_sum`, `name_count` lines.
  void render(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

//! The knowledge base's numbers, as its host last read them (--kb only).
struct KbGauges {
  struct Collection {
    std::string name;
    int64_t pending = 0, indexed = 0, failed = 0;  //!< documents by status
    std::optional<int64_t> chunks;                 //!< searchable chunks (its index's vectors), once the index is open
  };
  std::vector<Collection> collections;
  int64_t jobs_queued = 0, jobs_running = 0;
  int64_t ingested_tokens_total = 0;        //!< tokens embedded by ingestion since start
  double ingestion_busy_seconds_total = 0;  //!< time with documents in the pipeline: tokens/s = rate of both
};

//! Which per-client rate limit refused a request (qembed_rate_limited_total{limit}).
enum class RateLimitKind { kRequests, kTokens };

//! The /metrics page: request counters and histograms kept here, plus live gauges read from their owners (the
//! transport, the concurrency limiter and the embedding service's stats) when rendered.
class Metrics {
 public:
  Metrics(const TransportStats& transport, const ConcurrencyLimiter& limiter);

  //! The service's counters, once it runs (before: its gauges read 0). Also feeds the batch histograms.
  void set_service_stats(const service::ServiceStats* stats) { service_.store(stats, std::memory_order_release); }
  //! The reranker's counters (--reranker-model), rendered as qembed_rerank_*; null: none rendered.
  void set_reranker_stats(const service::ServiceStats* stats) { reranker_.store(stats, std::memory_order_release); }

  //! One finished HTTP request (`endpoint` is the route's label or "other", a bounded set).
  void request_done(const std::string& endpoint, int status, double duration_s);
  //! One embedding request that reached the queue: its timings.
  void embed_timings(double tokenize_s, double queue_s, double inference_s);
  void input_length(int64_t n_tokens);
  //! One Redis lookup of the embedding cache (one MGET), on the submitting thread.
  void cache_redis_lookup(double seconds);
  //! One forward batch (called on the service's worker).
  void batch(int64_t n_inputs, int64_t n_tokens);
  //! One request answered 429 by a per-client rate limit.
  void rate_limited(RateLimitKind limit) {
    (limit == RateLimitKind::kTokens ? rate_limited_tokens_ : rate_limited_requests_).fetch_add(1);
  }

  //! The knowledge base's gauges, read when rendering (with --kb; before: no qembed_kb_ metrics).
  void set_kb_gauges(std::function<KbGauges()> read) {
    std::lock_guard lock(mu_);
    kb_gauges_ = std::move(read);
  }
  //! One knowledge-base search (`mode`: hybrid, vector or keyword) and how long it took.
  void kb_search(const std::string& mode, double duration_s);

  //! The /metrics body (Prometheus text format 0.0.4).
  std::string render() const;

 private:
  void render_kb(std::string& out) const;  // mu_ held
  void render_reranker(std::string& out, const service::ServiceStats& s) const;

  const TransportStats& transport_;
  const ConcurrencyLimiter& limiter_;
  std::atomic<const service::ServiceStats*> service_{nullptr};
  std::atomic<const service::ServiceStats*> reranker_{nullptr};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  Histogram request_duration_, queue_duration_, tokenization_duration_, inference_duration_;
  Histogram input_length_, batch_size_, batch_tokens_;
  std::atomic<uint64_t> rate_limited_requests_{0}, rate_limited_tokens_{0};
  std::function<KbGauges()> kb_gauges_;
  std::map<std::string, uint64_t> kb_searches_;  // mode -> count
  Histogram kb_search_duration_;
  Histogram cache_redis_latency_;
};

//! A Prometheus label value with `\`, `"` and newlines escaped.
std::string prometheus_label(std::string_view value);

//! Resident set size of this process in bytes, from /proc/self/statm (0 when unavailable).
int64_t resident_bytes();

}  // namespace qembed::server
