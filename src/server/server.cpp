#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/error.hpp"
#include "engine/embedder.hpp"
#include "engine/forward_pass.hpp"
#include "server/app.hpp"
#include "server/http_server.hpp"
#include "server/metrics.hpp"
#include "server/scheduler.hpp"

namespace qembed::server {

namespace {

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

//! The worst-case memory of this configuration, printed at start-up. Admission (concurrency, payload, queue
//! bounds) keeps the server within it.
struct MemoryBound {
  int64_t weights = 0, activations = 0, prefix_cache = 0, queue = 0, bodies = 0, connections = 0;
  int64_t total() const { return weights + activations + prefix_cache + queue + bodies + connections; }
};

MemoryBound memory_bound(const Model& model, const ServerOptions& o, const SchedulerOptions& s) {
  MemoryBound b;
  b.weights = static_cast<int64_t>(model.file_bytes);
  // One forward batch: the token budget, or one input up to the context limit running alone.
  ThreadPool pool(1);
  ForwardPass probe(model, pool);
  const int64_t max_input =
      o.max_input_tokens > 0 ? std::min(o.max_input_tokens, model.config.n_ctx) : model.config.n_ctx;
  b.activations = probe.activation_bytes(std::max(s.max_batch_tokens, max_input));
  // Cached prompt K/V; an entry being computed counts against the same budget (it is only stored if it fits).
  b.prefix_cache = o.prefix_cache_mb << 20;
  // Admitted work: token ids, then one pooled vector plus its formatted text (<= 16 bytes a float) per input.
  b.queue = s.max_queue_tokens * 4 + s.max_queue_inputs * model.config.n_embd * (4 + 4 + 16);
  // Request bodies being read or in progress: the HTTP layer's body budget, reserved before a body is read.
  b.bodies = o.max_concurrent_requests * o.payload_limit_bytes;
  // Open connections, each with its capped read buffer and state.
  b.connections = o.max_connections * kConnectionBytes;
  return b;
}

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int run_server(const ServerOptions& options) {
  // Every thread started from here on inherits the blocked mask; the main thread takes the signals with sigwait.
  sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (options.log_format != "text" && options.log_format != "json") {
    throw Error("--log-format must be text or json, got \"" + options.log_format + "\"");
  }

  Metrics metrics;
  HttpOptions http_opts;
  http_opts.host = options.host;
  http_opts.port = options.port;
  http_opts.io_threads = options.io_threads;
  http_opts.body_limit_bytes = options.payload_limit_bytes;
  http_opts.idle_timeout_s = options.keep_alive_timeout_s;
  http_opts.max_connections = options.max_connections;
  http_opts.body_budget_bytes = options.max_concurrent_requests * options.payload_limit_bytes;
  http_opts.metrics = &metrics;
  App* app_ptr = nullptr;
  HttpServer http(
      http_opts, [&](Request&& req, std::shared_ptr<Exchange> ex) { app_ptr->handle(std::move(req), std::move(ex)); },
      [&](int status, const std::string& message) { return app_ptr->reject(status, message); });
  App app(options, metrics, http.io_context());
  app_ptr = &app;
  http.start();
  std::fprintf(stderr, "qembed: listening on http://%s:%d (loading the model)\n", options.host.c_str(), http.port());

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Model> model = Model::load(options.model_path);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EmbedderOptions eo;
  eo.n_threads = options.n_threads;
  eo.max_batch_tokens = options.max_batch_tokens;
  eo.prefix_cache_bytes = options.prefix_cache_mb << 20;
  Embedder embedder(*model, eo);

  SchedulerOptions so;
  so.max_batch_tokens = options.max_batch_tokens;
  so.max_batch_requests = options.max_batch_requests;
  so.max_queue_tokens = options.max_queue_tokens > 0 ? options.max_queue_tokens : 16 * options.max_batch_tokens;
  so.max_queue_inputs = std::max<int64_t>(4 * options.max_client_batch_size, 8192);
  const MemoryBound mem = memory_bound(*model, options, so);
  Scheduler scheduler(embedder, so, metrics);

  std::string served = options.served_model_name.empty() ? model->name : options.served_model_name;
  if (served.empty()) served = "qembed";
  app.set_ready(*model, scheduler, served, load_s);
  std::fprintf(
      stderr,
      "qembed: serving \"%s\" (%lld layers, %lld dims, %d compute threads) loaded in %.0f ms\n"
      "qembed: memory bound %.0f MiB = weights %.0f + activations %.0f (%lld tokens per batch) + prefix cache %.0f "
      "+ queue %.0f (%lld tokens, %lld inputs) + request bodies %.0f (%lld x %lld bytes) + connections %.0f (%lld x "
      "%lld KiB)\n"
      "qembed: ready on http://%s:%d\n",
      served.c_str(), static_cast<long long>(model->config.n_layer), static_cast<long long>(model->config.n_embd),
      embedder.n_threads(), load_s * 1000, mib(mem.total()), mib(mem.weights), mib(mem.activations),
      static_cast<long long>(so.max_batch_tokens), mib(mem.prefix_cache), mib(mem.queue),
      static_cast<long long>(so.max_queue_tokens), static_cast<long long>(so.max_queue_inputs), mib(mem.bodies),
      static_cast<long long>(options.max_concurrent_requests), static_cast<long long>(options.payload_limit_bytes),
      mib(mem.connections), static_cast<long long>(options.max_connections),
      static_cast<long long>(kConnectionBytes / 1024), options.host.c_str(), http.port());

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "qembed: %s received: no new connections, finishing %lld requests in flight\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(http.busy()));
  app.set_stopping();
  http.set_closing();
  http.stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.shutdown_timeout_s);
  while (http.busy() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t left = http.busy();
  scheduler.stop();
  http.stop();
  if (left > 0) {
    std::fprintf(stderr, "qembed: shutdown timeout: %lld requests were not finished\n", static_cast<long long>(left));
    return 1;
  }
  std::fprintf(stderr, "qembed: stopped\n");
  return 0;
}

}  // namespace qembed::server
