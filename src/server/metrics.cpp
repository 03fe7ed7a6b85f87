#include "server/metrics.hpp"

#include <unistd.h>

#include <cstdio>

namespace qembed::server {

namespace {

std::vector<double> seconds_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> powers_of_two(double top) {
  std::vector<double> b;
  for (double v = 1; v <= top; v *= 2) b.push_back(v);
  return b;
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void gauge(std::string& out, const char* name, const char* help, double v, const char* type = "gauge") {
  header(out, name, type, help);
  out += name;
  out += ' ' + fmt(v) + '\n';
}

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name) const {
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + fmt(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + fmt(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics(const TransportStats& transport, const ConcurrencyLimiter& limiter)
    : transport_(transport),
      limiter_(limiter),
      request_duration_(seconds_buckets()),
      queue_duration_(seconds_buckets()),
      tokenization_duration_(seconds_buckets()),
      inference_duration_(seconds_buckets()),
      input_length_(powers_of_two(65536)),
      batch_size_(powers_of_two(4096)),
      batch_tokens_(powers_of_two(1 << 20)),
      kb_search_duration_(seconds_buckets()),
      cache_redis_latency_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}) {}

void Metrics::cache_redis_lookup(double seconds) {
  std::lock_guard lock(mu_);
  cache_redis_latency_.observe(seconds);
}

void Metrics::kb_search(const std::string& mode, double duration_s) {
  std::lock_guard lock(mu_);
  ++kb_searches_[mode];
  kb_search_duration_.observe(duration_s);
}

std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::request_done(const std::string& endpoint, int status, double duration_s) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
  request_duration_.observe(duration_s);
}

void Metrics::embed_timings(double tokenize_s, double queue_s, double inference_s) {
  std::lock_guard lock(mu_);
  tokenization_duration_.observe(tokenize_s);
  queue_duration_.observe(queue_s);
  inference_duration_.observe(inference_s);
}

void Metrics::input_length(int64_t n_tokens) {
  std::lock_guard lock(mu_);
  input_length_.observe(static_cast<double>(n_tokens));
}

void Metrics::batch(int64_t n_inputs, int64_t n_tokens) {
  std::lock_guard lock(mu_);
  batch_size_.observe(static_cast<double>(n_inputs));
  batch_tokens_.observe(static_cast<double>(n_tokens));
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  header(out, "qembed_requests_total", "counter", "HTTP requests by endpoint and status code");
  for (const auto& [key, n] : requests_) {
    out += "qembed_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  }
  header(out, "qembed_rate_limited_total", "counter", "requests answered 429 by a per-client rate limit");
  out += "qembed_rate_limited_total{limit=\"requests\"} " + std::to_string(rate_limited_requests_.load()) + "\n";
  out += "qembed_rate_limited_total{limit=\"tokens\"} " + std::to_string(rate_limited_tokens_.load()) + "\n";
  header(out, "qembed_request_duration_seconds", "histogram", "time from request received to response ready");
  request_duration_.render(out, "qembed_request_duration_seconds");
  header(out, "qembed_request_tokenization_duration_seconds", "histogram", "time spent tokenizing a request");
  tokenization_duration_.render(out, "qembed_request_tokenization_duration_seconds");
  header(out, "qembed_request_queue_duration_seconds", "histogram", "time from queued to first input computed");
  queue_duration_.render(out, "qembed_request_queue_duration_seconds");
  header(out, "qembed_request_inference_duration_seconds", "histogram",
         "time from first input computed to last input computed");
  inference_duration_.render(out, "qembed_request_inference_duration_seconds");
  header(out, "qembed_request_input_length_tokens", "histogram", "tokens per input (EOS included)");
  input_length_.render(out, "qembed_request_input_length_tokens");
  header(out, "qembed_batch_size", "histogram", "inputs per forward batch (the reranker's too)");
  batch_size_.render(out, "qembed_batch_size");
  header(out, "qembed_batch_tokens", "histogram", "tokens per forward batch (the reranker's too)");
  batch_tokens_.render(out, "qembed_batch_tokens");
  // The service's counters (0 while the model loads).
  const service::ServiceStats* s = service_.load(std::memory_order_acquire);
  auto sv = [s](const std::atomic<int64_t> service::ServiceStats::*field) {
    return s ? static_cast<double>((s->*field).load()) : 0.0;
  };
  using S = service::ServiceStats;
  gauge(out, "qembed_queue_size", "inputs queued, not yet computed", sv(&S::queue_inputs));
  gauge(out, "qembed_queue_tokens", "tokens queued, not yet computed", sv(&S::queue_tokens));
  gauge(out, "qembed_requests_running", "requests with inputs being computed", sv(&S::requests_running));
  gauge(out, "qembed_requests_waiting", "requests queued with no input started", sv(&S::requests_waiting));
  gauge(out, "qembed_requests_in_flight", "requests admitted (holding a --max-concurrent-requests slot), not answered",
        static_cast<double>(limiter_.in_flight()));
  gauge(out, "qembed_tokens_total", "tokens computed since start", sv(&S::tokens_total), "counter");
  gauge(out, "qembed_admitted_work", "token-equivalents of work admitted, not finished (bound: --max-queue-work)",
        sv(&S::admitted_work));
  gauge(out, "qembed_interactive_requests_total", "requests scheduled ahead of bulk work (--interactive-max-tokens)",
        sv(&S::interactive_requests_total), "counter");
  gauge(out, "qembed_preemptions_total", "interactive batches run between two steps of a bulk batch",
        sv(&S::preemptions_total), "counter");
  gauge(out, "qembed_compute_rate", "measured bulk compute rate, token-equivalents per second",
        sv(&S::work_per_second));
  gauge(out, "qembed_bulk_work_total", "token-equivalents computed for bulk requests since start",
        sv(&S::bulk_work_total), "counter");
  gauge(out, "qembed_interactive_work_total", "token-equivalents computed for interactive requests since start",
        sv(&S::interactive_work_total), "counter");
  gauge(out, "qembed_inputs_total", "inputs computed since start", sv(&S::inputs_total), "counter");
  gauge(out, "qembed_open_connections", "HTTP connections open now",
        static_cast<double>(transport_.open_connections.load()));
  gauge(out, "qembed_connections_rejected_total",
        "connections answered 503 and closed at once (--max-connections open, or out of descriptors)",
        static_cast<double>(transport_.connections_rejected_total.load()), "counter");
  gauge(out, "qembed_body_bytes_reserved",
        "request body bytes reserved (budget: max-concurrent-requests x payload-limit)",
        static_cast<double>(transport_.body_bytes_reserved.load()));
  gauge(out, "qembed_response_bytes_reserved",
        "response bytes reserved for responses being formatted or written (budget: --max-response-buffer-mb)",
        static_cast<double>(transport_.response_bytes_reserved.load()));
  gauge(out, "qembed_prefix_cache_hits_total", "requests whose prompt keys/values were already cached",
        sv(&S::prefix_hits_total), "counter");
  gauge(out, "qembed_prefix_cache_misses_total", "requests whose prompt keys/values were computed, then cached",
        sv(&S::prefix_misses_total), "counter");
  gauge(out, "qembed_prefix_cache_tokens_reused_total", "token positions taken from the prefix cache, not computed",
        sv(&S::prefix_tokens_reused_total), "counter");
  gauge(out, "qembed_prefix_cache_inputs_reused_total", "inputs computed on top of a cached prompt",
        sv(&S::prefix_inputs_reused_total), "counter");
  gauge(out, "qembed_prefix_cache_evictions_total", "prefix cache entries evicted to stay within --prefix-cache-mb",
        sv(&S::prefix_evictions_total), "counter");
  gauge(out, "qembed_prefix_cache_bytes", "bytes of keys/values held by the prefix cache", sv(&S::prefix_cache_bytes));
  gauge(out, "qembed_prefix_cache_entries", "prompts held by the prefix cache", sv(&S::prefix_cache_entries));
  // Embedding cache: per input, the local level first, then Redis for the local misses.
  header(out, "qembed_cache_hits_total", "counter",
         "inputs whose pooled vector came from the embedding cache, by level");
  out += "qembed_cache_hits_total{level=\"local\"} " + fmt(sv(&S::cache_hits_local_total)) + "\n";
  out += "qembed_cache_hits_total{level=\"redis\"} " + fmt(sv(&S::cache_hits_redis_total)) + "\n";
  header(out, "qembed_cache_misses_total", "counter",
         "inputs not found in the embedding cache, by level (a redis miss includes Redis down or too slow)");
  out += "qembed_cache_misses_total{level=\"local\"} " + fmt(sv(&S::cache_misses_local_total)) + "\n";
  out += "qembed_cache_misses_total{level=\"redis\"} " + fmt(sv(&S::cache_misses_redis_total)) + "\n";
  gauge(out, "qembed_cache_evictions_total", "embedding cache entries evicted to stay within --cache-mb",
        sv(&S::cache_evictions_total), "counter");
  gauge(out, "qembed_cache_bytes", "bytes held by the in-process embedding cache", sv(&S::cache_bytes));
  gauge(out, "qembed_cache_entries", "vectors held by the in-process embedding cache", sv(&S::cache_entries));
  gauge(out, "qembed_cache_redis_errors_total",
        "Redis failures (connect, timeout, error reply, undecodable value); each is served as a miss",
        sv(&S::cache_redis_errors_total), "counter");
  gauge(out, "qembed_cache_redis_dropped_writes_total",
        "vectors not written to Redis (writer queue full, or Redis unavailable)",
        sv(&S::cache_redis_dropped_writes_total), "counter");
  header(out, "qembed_cache_redis_latency_seconds", "histogram", "time of one Redis lookup (one MGET per request)");
  cache_redis_latency_.render(out, "qembed_cache_redis_latency_seconds");
  gauge(out, "qembed_resident_memory_bytes", "resident set size of the process", static_cast<double>(resident_bytes()));
  if (const service::ServiceStats* r = reranker_.load(std::memory_order_acquire)) render_reranker(out, *r);
  if (kb_gauges_) render_kb(out);
  return out;
}

void Metrics::render_reranker(std::string& out, const service::ServiceStats& s) const {
  // The reranker's own queue and work (its requests are counted under their routes in qembed_requests_total).
  auto v = [&s](const std::atomic<int64_t> service::ServiceStats::*field) {
    return static_cast<double>((s.*field).load());
  };
  using S = service::ServiceStats;
  gauge(out, "qembed_rerank_documents_total", "documents scored by the reranker since start", v(&S::inputs_total),
        "counter");
  gauge(out, "qembed_rerank_tokens_total",
        "tokens computed by the reranker since start (query and template "
        "included)",
        v(&S::tokens_total), "counter");
  gauge(out, "qembed_rerank_batches_total", "forward batches the reranker ran since start", v(&S::batches_total),
        "counter");
  gauge(out, "qembed_rerank_queue_size", "documents queued for the reranker, not yet scored", v(&S::queue_inputs));
  gauge(out, "qembed_rerank_queue_tokens", "tokens queued for the reranker, not yet computed", v(&S::queue_tokens));
  gauge(out, "qembed_rerank_requests_running", "rerank requests with documents being scored", v(&S::requests_running));
  gauge(out, "qembed_rerank_requests_waiting", "rerank requests queued with no document started",
        v(&S::requests_waiting));
  gauge(out, "qembed_rerank_admitted_work", "token-equivalents of rerank work admitted, not finished",
        v(&S::admitted_work));
  gauge(out, "qembed_rerank_prefix_cache_tokens_reused_total",
        "query and template positions the reranker took from its prefix cache", v(&S::prefix_tokens_reused_total),
        "counter");
}

void Metrics::render_kb(std::string& out) const {
  const KbGauges kb = kb_gauges_();
  header(out, "qembed_kb_documents", "gauge", "knowledge-base documents by collection and status");
  for (const KbGauges::Collection& c : kb.collections) {
    const std::string name = prometheus_label(c.name);
    for (const auto& [status, n] : {std::pair{"pending", c.pending}, {"indexed", c.indexed}, {"failed", c.failed}}) {
      out += "qembed_kb_documents{collection=\"" + name + "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
  }
  header(out, "qembed_kb_chunks", "gauge", "searchable chunks by collection (once its vector index is open)");
  for (const KbGauges::Collection& c : kb.collections) {
    if (c.chunks) {
      out += "qembed_kb_chunks{collection=\"" + prometheus_label(c.name) + "\"} " + std::to_string(*c.chunks) + "\n";
    }
  }
  header(out, "qembed_kb_jobs", "gauge", "ingestion jobs by state");
  out += "qembed_kb_jobs{state=\"queued\"} " + std::to_string(kb.jobs_queued) + "\n";
  out += "qembed_kb_jobs{state=\"running\"} " + std::to_string(kb.jobs_running) + "\n";
  gauge(out, "qembed_kb_ingested_tokens_total", "tokens embedded by ingestion since start",
        static_cast<double>(kb.ingested_tokens_total), "counter");
  gauge(out, "qembed_kb_ingestion_busy_seconds_total",
        "seconds with documents in the ingestion pipeline (tokens/s = rate of ingested tokens over this)",
        kb.ingestion_busy_seconds_total, "counter");
  header(out, "qembed_kb_searches_total", "counter", "knowledge-base searches by mode");
  for (const char* mode : {"hybrid", "vector", "keyword"}) {
    auto it = kb_searches_.find(mode);
    out += std::string("qembed_kb_searches_total{mode=\"") + mode + "\"} " +
           std::to_string(it == kb_searches_.end() ? 0 : it->second) + "\n";
  }
  header(out, "qembed_kb_search_duration_seconds", "histogram", "knowledge-base search time, query embedding included");
  kb_search_duration_.render(out, "qembed_kb_search_duration_seconds");
}

int64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long size = 0, resident = 0;
  int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace qembed::server
