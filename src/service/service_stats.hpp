#pragma once
// Live counters of the embedding service, read by /metrics and `qembed embed`'s summary. The worker and submit()
// update them; readers load them without locks (each value is consistent on its own, not across values).
#include <atomic>
#include <cstdint>
#include <functional>

namespace qembed::service {

struct ServiceStats {
  std::atomic<int64_t> queue_inputs{0};      //!< inputs queued, not yet computed
  std::atomic<int64_t> queue_tokens{0};      //!< tokens queued, not yet computed
  std::atomic<int64_t> admitted_tokens{0};   //!< tokens of requests admitted and not finished
  std::atomic<int64_t> requests_running{0};  //!< requests with inputs in the current batch
  std::atomic<int64_t> requests_waiting{0};  //!< requests queued, none of their inputs started
  std::atomic<int64_t> tokens_total{0};      //!< tokens computed since start
  std::atomic<int64_t> inputs_total{0};      //!< inputs computed since start
  std::atomic<int64_t> batches_total{0};     //!< forward batches run since start
  // Scheduling (service/batcher.hpp).
  std::atomic<int64_t> admitted_work{0};               //!< token-equivalents of requests admitted, not finished
  std::atomic<int64_t> interactive_requests_total{0};  //!< requests queued in the interactive class
  std::atomic<int64_t> preemptions_total{0};           //!< interactive batches run between two steps of a bulk one
  std::atomic<int64_t> work_per_second{0};             //!< measured compute rate in token-equivalents per second
  //! Token-equivalents computed since start, per class (updated every step, so a rate over a short window is exact
  //! even while batches are long).
  std::atomic<int64_t> bulk_work_total{0};
  std::atomic<int64_t> interactive_work_total{0};
  // Prefix cache.
  std::atomic<int64_t> prefix_hits_total{0};           //!< requests whose prompt K/V were already cached
  std::atomic<int64_t> prefix_misses_total{0};         //!< requests whose prompt K/V were computed and cached
  std::atomic<int64_t> prefix_tokens_reused_total{0};  //!< positions taken from the cache instead of computed
  std::atomic<int64_t> prefix_inputs_reused_total{0};  //!< inputs that started from a cached prompt
  std::atomic<int64_t> prefix_evictions_total{0};      //!< entries evicted to stay within the budget
  std::atomic<int64_t> prefix_cache_bytes{0};          //!< bytes held by the cache now
  std::atomic<int64_t> prefix_cache_entries{0};        //!< entries held now
  // Embedding cache (service/embedding_cache.hpp, service/redis_cache.hpp): pooled vectors by CacheKey, counted per
  // input. A local miss is looked up in Redis (when configured), so redis lookups = local misses.
  std::atomic<int64_t> cache_hits_local_total{0};
  std::atomic<int64_t> cache_misses_local_total{0};
  std::atomic<int64_t> cache_hits_redis_total{0};
  std::atomic<int64_t> cache_misses_redis_total{0};  //!< absent, unreadable, or Redis unavailable / too slow
  std::atomic<int64_t> cache_evictions_total{0};     //!< local entries evicted to stay within the byte budget
  std::atomic<int64_t> cache_bytes{0};               //!< bytes held by the local cache now
  std::atomic<int64_t> cache_entries{0};             //!< vectors held by the local cache now
  std::atomic<int64_t> cache_redis_errors_total{0};  //!< failed commands, timeouts, refused connections, bad values
  std::atomic<int64_t> cache_redis_dropped_writes_total{0};  //!< vectors not written: queue full or Redis down

  //! Called on the worker after each forward batch (e.g. to feed histograms); may be empty.
  std::function<void(int64_t n_inputs, int64_t n_tokens, double seconds)> on_batch;
  //! Called after each Redis lookup (one MGET) that was attempted, on the submitting thread; may be empty. Set before
  //! the first submit().
  std::function<void(double seconds)> on_cache_redis_lookup;
};

}  // namespace qembed::service
