#pragma once
// Prometheus metrics (text exposition format 0.0.4), all prefixed qembed_. Counters and histograms are updated
// from the HTTP threads and the inference worker; render() takes a consistent-enough snapshot under one mutex.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

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

class Metrics {
 public:
  Metrics();

  //! One finished HTTP request.
  void request_done(const std::string& endpoint, int status, double duration_s);
  //! One embedding request that reached the queue: its timings and sizes.
  void embed_timings(double tokenize_s, double queue_s, double inference_s);
  void input_length(int64_t n_tokens);
  //! One forward batch.
  void batch(int64_t n_inputs, int64_t n_tokens);

  std::atomic<int64_t> queue_size{0};                  //!< inputs queued, not yet computed
  std::atomic<int64_t> queue_tokens{0};                //!< tokens queued, not yet computed
  std::atomic<int64_t> requests_running{0};            //!< requests with inputs in the current batch
  std::atomic<int64_t> requests_waiting{0};            //!< requests queued, none of their inputs started
  std::atomic<int64_t> requests_in_flight{0};          //!< accepted embedding/tokenize requests not yet answered
  std::atomic<int64_t> tokens_total{0};                //!< tokens computed since start
  std::atomic<int64_t> inputs_total{0};                //!< inputs computed since start
  std::atomic<int64_t> open_connections{0};            //!< HTTP connections open now
  std::atomic<int64_t> connections_rejected_total{0};  //!< connections closed at once past --max-connections
  std::atomic<int64_t> body_bytes_reserved{0};         //!< request body bytes reserved from the body budget
  // Prefix cache (updated by the worker).
  std::atomic<int64_t> prefix_hits_total{0};           //!< requests whose prompt K/V were already cached
  std::atomic<int64_t> prefix_misses_total{0};         //!< requests whose prompt K/V were computed and cached
  std::atomic<int64_t> prefix_tokens_reused_total{0};  //!< positions taken from the cache instead of computed
  std::atomic<int64_t> prefix_inputs_reused_total{0};  //!< inputs that started from a cached prompt
  std::atomic<int64_t> prefix_evictions_total{0};      //!< entries evicted to stay within the budget
  std::atomic<int64_t> prefix_cache_bytes{0};          //!< bytes held by the cache now
  std::atomic<int64_t> prefix_cache_entries{0};        //!< entries held now

  //! The /metrics body.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  Histogram request_duration_, queue_duration_, tokenization_duration_, inference_duration_;
  Histogram input_length_, batch_size_, batch_tokens_;
};

//! Resident set size of this process in bytes, from /proc/self/statm (0 when unavailable).
int64_t resident_bytes();

}  // namespace qembed::server
