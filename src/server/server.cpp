// The bootstrap: the one file under src/server that sees the model (to load it and hand it to the service); the
// API and transport reach the model only through service::EmbeddingService.
#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kb/knowledge_base.hpp"
#include "model/model.hpp"
#include "server/admission.hpp"
#include "server/api/auth.hpp"
#include "server/app.hpp"
#include "server/http/fd_limit.hpp"
#include "server/http/http_server.hpp"
#include "server/kb_host.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"

namespace qembed::server {

namespace {

using SteadyClock = std::chrono::steady_clock;

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

//! What the main thread waits on: a termination signal (from the signal thread) or the end of the model load.
struct Lifecycle {
  std::mutex mu;
  std::condition_variable cv;
  int signals = 0;  // termination signals received so far
  int last_signal = 0;
  bool load_done = false;
  std::exception_ptr load_error;
  std::unique_ptr<service::EmbeddingService> service;   // the embedding model (null without --model)
  std::unique_ptr<service::EmbeddingService> reranker;  // the reranker (null without --reranker-model)

  void on_signal(int sig) {
    std::lock_guard lock(mu);
    ++signals;
    last_signal = sig;
    cv.notify_all();
  }
  //! Waits until `pred` (lock held).
  template <class Pred>
  void wait(Pred pred) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pred(); });
  }
  //! Waits until `pred` (lock held) or `deadline`; true when pred holds.
  template <class Pred>
  bool wait_until(SteadyClock::time_point deadline, Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [&] { return pred(); });
  }
};

//! Takes SIGINT/SIGTERM with sigwait (every thread blocks them) and reports each to the Lifecycle.
class SignalThread {
 public:
  explicit SignalThread(Lifecycle& life) : life_(life) {
    thread_ = std::thread([this] {
      sigset_t set = termination_signals();
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (stop_.load()) return;
        life_.on_signal(sig);
      }
    });
  }
  ~SignalThread() {
    stop_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait; the signal is consumed there
    thread_.join();
  }

 private:
  Lifecycle& life_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

api::KeyRing make_key_ring(const ServerOptions& o) {
  std::vector<api::ApiKey> keys;
  for (const std::string& spec : o.api_keys) keys.push_back(api::parse_api_key(spec, "--api-key"));
  if (!o.api_key_file.empty()) {
    for (api::ApiKey& k : api::read_api_key_file(o.api_key_file)) keys.push_back(std::move(k));
  }
  return api::KeyRing(std::move(keys));
}

//! What a tokenization worker may hold while it works on one request, per body byte: the body's JSON tree, the
//! inputs copied out of it, and the token ids or /tokenize pieces made from them (a TokenPiece is ~64 bytes and a
//! token can be one or two bytes of text). Measured worst case: a 1.9 MB /tokenize of " a" x 950,000 (one token per
//! 2 bytes) peaked at ~132 MiB besides its response (~70x the body); a 2 MB token-id array at ~23x. 128x leaves room
//! for vector growth and allocator slack.
inline constexpr int64_t kWorkBytesPerBodyByte = 128;

//! Resident bytes of this process now that are not model weights: anonymous memory less the backend's prepared
//! weight copies (tokenizer, heap, stacks) plus file-backed pages (code, ICU data; mapped model pages that were
//! touched are counted here too, which only errs on the safe side).
int64_t runtime_resident_bytes(int64_t prepared_weight_bytes) {
  std::ifstream f("/proc/self/status");
  std::string line;
  int64_t anon_kb = 0, file_kb = 0;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    int64_t kb = 0;
    in >> key >> kb;
    if (key == "RssAnon:") anon_kb = kb;
    if (key == "RssFile:") file_kb = kb;
  }
  return std::max<int64_t>(0, anon_kb * 1024 - prepared_weight_bytes) + file_kb * 1024;
}

//! One model's terms of the memory bound: the backend's plan (weights as it holds them, one batch of
//! max(max-batch-tokens, max-input-tokens)), its prompt cache and its admitted work.
struct ModelBound {
  int64_t weights = 0, activations = 0, prefix_cache = 0, queue = 0, embedding_cache = 0;
  int64_t total() const { return weights + activations + prefix_cache + queue + embedding_cache; }
};

ModelBound model_bound(const service::EmbeddingService& svc) {
  const service::ModelInfo& m = svc.model_info();
  const service::ServiceOptions& so = svc.options();  // as the service completed them (queue bound, input limit)
  ModelBound b;
  b.weights = m.memory.weights_bytes;
  b.activations = m.memory.activation_bytes;
  // Cached prompt K/V; an entry being computed counts against the same budget (it is only stored if it fits).
  b.prefix_cache = so.prefix_cache_bytes;
  // Admitted work: token ids, then one pooled vector and its finished copy per input (the text they become is in
  // the response budget). A reranker's result is 2 floats an input: counting n_embd errs on the safe side.
  b.queue = so.max_queue_tokens * 4 + so.max_queue_inputs * m.n_embd * (4 + 4);
  // Cached pooled vectors, entries' overhead included (--cache-mb; a reranker caches nothing). The Redis writer's
  // queue: at most max_pending_writes values of a header and n_embd floats, with their ~100-byte keys.
  if (!so.reranker) {
    b.embedding_cache = so.cache_bytes;
    if (!so.cache_redis.url.empty()) b.embedding_cache += so.cache_redis.max_pending_writes * (m.n_embd * 4 + 128);
  }
  return b;
}

//! The worst-case memory of this configuration, printed at start-up. Admission (concurrency, payload, queue and
//! response bounds, the connection cap) keeps the server within it whatever clients do.
struct MemoryBound {
  ModelBound model;     // the embedding model, or the reranker when it is the only one
  ModelBound reranker;  // the reranker beside an embedding model (zero otherwise)
  int64_t bodies = 0, work = 0, responses = 0, connections = 0, runtime = 0;
  KbMemoryEstimate kb;  // zero without --kb
  int64_t total() const {
    return model.total() + reranker.total() + bodies + work + responses + connections + runtime + kb.total();
  }
};

//! `primary` is the embedding model, or the reranker when it is served alone; `second` the reranker beside it.
MemoryBound memory_bound(const service::EmbeddingService& primary, const service::EmbeddingService* second,
                         const ServerOptions& o, int64_t runtime, const KnowledgeBaseHost* kb) {
  MemoryBound b;
  b.model = model_bound(primary);
  if (second) b.reranker = model_bound(*second);
  // Request bodies being read or in progress: the transport's body budget, reserved before a body is read.
  b.bodies = o.max_concurrent_requests * o.payload_limit_bytes;
  // What the tokenization workers build from one body each (JSON tree, inputs, ids or token pieces).
  b.work = static_cast<int64_t>(std::max(1, o.tokenization_workers)) * kWorkBytesPerBodyByte * o.payload_limit_bytes;
  // Responses being formatted or written: reserved ahead at their worst case (--max-response-buffer-mb).
  b.responses = o.max_response_buffer_bytes;
  // Open connections, each with its capped read buffer, state and one small unreserved response (an error, /health).
  b.connections = o.max_connections * kConnectionBytes;
  b.runtime = runtime;
  // The per-client rate limiter's table, when limits are on: at most max_clients entries (~150 bytes each; 256
  // counted for the hash table's own overhead).
  if (o.request_rate_limit > 0 || o.token_rate_limit > 0) {
    b.runtime += static_cast<int64_t>(RateLimits{}.max_clients) * 256;
  }
  // The knowledge base: every stored vector in its collection's in-memory index, and the files being ingested.
  if (kb) b.kb = kb->memory_estimate();
  return b;
}

//! The reranker's terms beside an embedding model ("" without one).
std::string reranker_bound_text(const ModelBound& r) {
  if (r.total() == 0) return "";
  char text[256];
  std::snprintf(text, sizeof text,
                " + reranker %.0f (weights %.0f + activations %.0f + prefix cache %.0f + queue %.0f)", mib(r.total()),
                mib(r.weights), mib(r.activations), mib(r.prefix_cache), mib(r.queue));
  return text;
}

//! The knowledge base's terms of the memory bound ("" without --kb).
std::string kb_bound_text(const KbMemoryEstimate& kb) {
  if (kb.total() == 0 && kb.bytes_per_vector == 0) return "";
  char text[256];
  std::snprintf(
      text, sizeof text,
      " + vector index %.0f (%lld stored vectors x %lld bytes; each new chunk adds its bytes) + ingestion %.0f",
      mib(kb.index_bytes), static_cast<long long>(kb.vectors), static_cast<long long>(kb.bytes_per_vector),
      mib(kb.ingestion_bytes));
  return text;
}

//! Logs one model being served.
void print_model(const service::EmbeddingService& svc, double load_s) {
  const service::ModelInfo& m = svc.model_info();
  char line[1024];
  std::snprintf(line, sizeof line,
                "serving %s id \"%s\" (%s %s, %lld layers, %lld dims, %d compute threads on %s) loaded in %.0f ms",
                m.role == "reranker" ? "reranker" : "model", m.id.c_str(), m.architecture.c_str(), m.dtype.c_str(),
                static_cast<long long>(m.n_layer), static_cast<long long>(m.n_embd), m.backend.n_threads,
                m.backend.name.c_str(), load_s * 1000);
  log::info(line);
}

//! Logs the models, the memory bound and the address; returns the memory bound in bytes. `primary` and `second` as
//! for memory_bound().
int64_t print_ready(const service::EmbeddingService& primary, const service::EmbeddingService* second,
                    const ServerOptions& o, const HttpServer& http, const HttpServer* metrics_http, double load_s,
                    const KnowledgeBaseHost* kb) {
  const service::ServiceOptions& so = primary.options();
  print_model(primary, load_s);
  if (second) print_model(*second, load_s);
  const int64_t prepared =
      primary.model_info().backend.prepared_bytes + (second ? second->model_info().backend.prepared_bytes : 0);
  const MemoryBound mem = memory_bound(primary, second, o, runtime_resident_bytes(prepared), kb);
  char line[2048];
  std::snprintf(
      line, sizeof line,
      "memory bound %.0f MiB = weights %.0f + activations %.0f (a batch of %lld tokens) + prefix cache %.0f "
      "+ embedding cache %.0f + queue %.0f (%lld tokens, %lld inputs)%s + request bodies %.0f (%lld x %lld bytes) "
      "+ request work %.0f (%d workers x %lld bytes) + responses %.0f (--max-response-buffer-mb) + connections %.0f (%lld x %lld KiB) "
      "+ runtime %.0f (resident at ready, besides weights)%s",
      mib(mem.total()), mib(mem.model.weights), mib(mem.model.activations),
      static_cast<long long>(std::max(so.max_batch_tokens, so.max_input_tokens)), mib(mem.model.prefix_cache),
      mib(mem.model.embedding_cache), mib(mem.model.queue), static_cast<long long>(so.max_queue_tokens),
      static_cast<long long>(so.max_queue_inputs), reranker_bound_text(mem.reranker).c_str(), mib(mem.bodies),
      static_cast<long long>(o.max_concurrent_requests), static_cast<long long>(o.payload_limit_bytes), mib(mem.work),
      std::max(1, o.tokenization_workers), static_cast<long long>(kWorkBytesPerBodyByte * o.payload_limit_bytes),
      mib(mem.responses), mib(mem.connections), static_cast<long long>(o.max_connections),
      static_cast<long long>(kConnectionBytes / 1024), mib(mem.runtime), kb_bound_text(mem.kb).c_str());
  log::info(line);
  if (metrics_http) {
    log::info("metrics on http://" + metrics_http->url_host() + ":" + std::to_string(metrics_http->port()) +
              "/metrics (no API key)");
  }
  log::info("ready on http://" + http.url_host() + ":" + std::to_string(http.port()));
  return mem.total();
}

//! Connections the --metrics-port listener serves at once (their descriptors are kept aside from the main cap).
constexpr int64_t kMetricsConnections = 64;

//! The --metrics-port listener: GET /metrics only, no keys (bind it where only the scraper reaches).
std::unique_ptr<HttpServer> make_metrics_listener(const ServerOptions& o, Metrics& metrics) {
  if (o.metrics_port < 0) return nullptr;
  namespace http = boost::beast::http;
  HttpOptions mo;
  mo.host = o.host;
  mo.port = o.metrics_port;
  mo.io_threads = 1;
  mo.body_limit_bytes = 4096;
  mo.max_connections = kMetricsConnections;
  mo.body_budget_bytes = kMetricsConnections * 4096;
  auto respond = [&metrics](const Request& req) {
    Response res{http::status::ok, 11};
    res.set(http::field::server, "qembed");
    const std::string target(req.target());
    if (target.substr(0, target.find('?')) != "/metrics") {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "this port serves GET /metrics only\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::content_type, "text/plain");
      res.body() = "use GET\n";
    } else {
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = metrics.render();
    }
    return res;
  };
  return std::make_unique<HttpServer>(
      mo, [respond](Request&& req, std::shared_ptr<Exchange> ex) { ex->respond(respond(req)); },
      [](int status, const std::string& message, const Request*) {
        Response res{static_cast<http::status>(status), 11};
        res.set(http::field::content_type, "text/plain");
        res.body() = message + "\n";
        return res;
      });
}

}  // namespace

int run_server(const ServerOptions& given) {
  ServerOptions options = given;  // the connection cap is fitted to the descriptor limit below
  // Every thread started from here on inherits the blocked mask; the signal thread takes them with sigwait.
  sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (options.log_format != "text" && options.log_format != "json") {
    throw Error("--log-format must be text or json, got \"" + options.log_format + "\"");
  }
  log::set_format(options.log_format == "json" ? log::Format::kJson : log::Format::kText);
  if (options.model_path.empty() && options.reranker_model_path.empty()) {
    throw Error("no model to serve: give --model, --reranker-model or both");
  }
  if (options.model_path.empty() && !options.kb_path.empty()) {
    throw Error("--kb needs an embedding model (--model M); --reranker-model alone only reranks");
  }
  api::KeyRing keys = make_key_ring(options);

  // Every connection is a descriptor: take what the hard limit allows and fit the cap under it, so the process
  // never runs out while accepting (it would then neither serve nor refuse).
  const FdLimit fds = raise_fd_limit();
  {
    const int64_t reserved = kReservedDescriptors + (options.metrics_port >= 0 ? kMetricsConnections : 0);
    std::string note;
    options.max_connections = fit_connections(options.max_connections, fds, reserved, note);
    if (!note.empty()) log::warn(note);
  }

  Lifecycle life;
  SignalThread signal_thread(life);
  TransportStats transport_stats;
  // Both outlive the transport (declared before it): a connection dropped as it is destroyed releases into them.
  ConcurrencyLimiter limiter(options.max_concurrent_requests);
  ByteBudget responses(options.max_response_buffer_bytes, transport_stats.response_bytes_reserved);
  Metrics metrics(transport_stats, limiter);

  HttpOptions ho;
  ho.host = options.host;
  ho.port = options.port;
  ho.io_threads = options.io_threads;
  ho.body_limit_bytes = options.payload_limit_bytes;
  ho.idle_timeout_s = options.keep_alive_timeout_s;
  ho.body_timeout_s = options.body_timeout_s;
  ho.max_connections = options.max_connections;
  ho.body_budget_bytes = options.max_concurrent_requests * options.payload_limit_bytes;
  ho.stats = &transport_stats;
  App* app_ptr = nullptr;
  HttpServer http(
      ho, [&](Request&& req, std::shared_ptr<Exchange> ex) { app_ptr->handle(std::move(req), std::move(ex)); },
      [&](int status, const std::string& message, const Request* header) {
        return app_ptr->reject(status, message, header);
      },
      [&](const Request& header) { return app_ptr->check_header(header); });
  App app(options, std::move(keys), metrics, limiter, responses);
  app_ptr = &app;
  std::unique_ptr<HttpServer> metrics_http = make_metrics_listener(options, metrics);
  http.start();
  if (metrics_http) metrics_http->start();
  log::info("listening on http://" + http.url_host() + ":" + std::to_string(http.port()) + " (loading the model)");

  // Load on a thread of its own, so that a signal during a long load is honoured at once.
  const auto t0 = SteadyClock::now();
  std::thread loader([&] {
    std::unique_ptr<service::EmbeddingService> svc, rr;
    std::exception_ptr error;
    try {
      if (!options.model_path.empty()) {
        svc = std::make_unique<service::EmbeddingService>(Model::load(options.model_path, ModelRole::kEmbedding),
                                                          options.service);
      }
      if (!options.reranker_model_path.empty()) {
        rr = std::make_unique<service::EmbeddingService>(Model::load(options.reranker_model_path, ModelRole::kReranker),
                                                         options.reranker_service);
      }
      if (svc && rr && svc->model_info().id == rr->model_info().id) {
        throw Error("the embedding model and the reranker are both named \"" + svc->model_info().id +
                    "\": give one of them another id (--served-model-name, --reranker-served-name)");
      }
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(life.mu);
    life.service = std::move(svc);
    life.reranker = std::move(rr);
    life.load_error = error;
    life.load_done = true;
    life.cv.notify_all();
  });
  life.wait([&] { return life.load_done || life.signals > 0; });
  {
    std::unique_lock lock(life.mu);
    if (!life.load_done) {
      const int sig = life.last_signal;
      lock.unlock();
      // The load cannot be interrupted half-way; nothing was admitted, so leave without waiting for it.
      log::info(std::string(signal_name(sig)) + " received while loading the model: exiting");
      std::fflush(stderr);
      std::_Exit(0);
    }
  }
  loader.join();
  if (life.load_error) {
    http.stop();
    if (metrics_http) metrics_http->stop();
    std::rethrow_exception(life.load_error);
  }
  service::EmbeddingService* embedder = life.service.get();
  service::EmbeddingService* reranker = life.reranker.get();
  const double load_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  // Batch histograms: the services' hooks, set before the first submit() (both models' batches are counted).
  for (service::EmbeddingService* s : {embedder, reranker}) {
    if (s)
      s->stats().on_batch = [&metrics](int64_t n_inputs, int64_t n_tokens, double) {
        metrics.batch(n_inputs, n_tokens);
      };
  }
  if (embedder) {
    embedder->stats().on_cache_redis_lookup = [&metrics](double seconds) { metrics.cache_redis_lookup(seconds); };
  }
  metrics.set_service_stats(embedder ? &embedder->stats() : nullptr);
  metrics.set_reranker_stats(reranker ? &reranker->stats() : nullptr);
  // The knowledge base opens on the running service; its vector indexes open in the background while /health says
  // why it is not ready yet. (cmd_serve refuses --kb without an embedding model.)
  std::unique_ptr<KnowledgeBaseHost> kb;
  if (!options.kb_path.empty() && embedder) {
    try {
      // Searches that rerank (a request's or a collection's choice) use the reranker; without one they are a 400.
      kb = std::make_unique<KnowledgeBaseHost>(options, *embedder, reranker);
      kb->start();
    } catch (...) {
      http.stop();
      if (metrics_http) metrics_http->stop();
      throw;
    }
    metrics.set_kb_gauges([host = kb.get()] { return host->gauges(); });
    log::info("knowledge base " + kb::kb_display_location(options.kb_path) + ": REST API under /v1/kb/");
  }
  app.set_ready(embedder, reranker, kb.get());
  service::EmbeddingService& primary = embedder ? *embedder : *reranker;
  app.set_memory_bound(
      print_ready(primary, embedder ? reranker : nullptr, options, http, metrics_http.get(), load_s, kb.get()));

  // Serve until a signal.
  int seen_signals = 0, first_signal = 0;
  life.wait([&] { return life.signals > 0; });
  {
    std::lock_guard lock(life.mu);
    seen_signals = life.signals;
    first_signal = life.last_signal;
  }
  // Drain: new requests (new connections included) get 503 + Connection: close; admitted ones finish.
  app.set_stopping();
  http.set_closing();
  const int64_t admitted = app.unanswered();
  log::info(std::string(signal_name(first_signal)) + " received: finishing " + std::to_string(admitted) +
            " requests in flight (up to " + std::to_string(static_cast<int64_t>(options.shutdown_timeout_s)) +
            " s); new requests get 503");
  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                 std::chrono::duration<double>(options.shutdown_timeout_s));
  // A second signal ends the wait early. Poll the unanswered count (a response still being written to a client
  // that does not read it does not hold the shutdown; the flush below gives those 2 s).
  while (app.unanswered() > 0 && SteadyClock::now() < deadline) {
    if (life.wait_until(std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(20)),
                        [&] { return life.signals > seen_signals; })) {
      log::info("second signal: not waiting any longer");
      break;
    }
  }
  int64_t aborted = 0;
  if (app.unanswered() > 0) {
    aborted = app.abort_in_flight("the server shut down before this request was computed; retry on another server");
    log::warn("shutdown: " + std::to_string(aborted) + " requests in flight were answered 503 without being computed");
  }
  // Let the last responses reach the sockets before the I/O threads stop. No new connections from here on; an open
  // one gets at most one more answer (a 503 that closes it), so `busy` drains in milliseconds.
  http.stop_accepting();
  const auto flush_deadline = SteadyClock::now() + std::chrono::seconds(2);
  while (http.busy() > 0 && SteadyClock::now() < flush_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t unwritten = http.busy();
  http.stop();
  if (metrics_http) metrics_http->stop();
  if (aborted > 0) {
    // The worker may be inside a long batch of work nobody waits for: do not wait for it.
    log::info(unwritten > 0 ? "stopped; " + std::to_string(unwritten) + " responses could not be written" : "stopped");
    std::fflush(stderr);
    std::_Exit(unwritten > 0 ? 1 : 0);
  }
  // Ingestion stops before the service it submits to: documents in flight stay pending for the next start.
  metrics.set_kb_gauges(nullptr);
  kb.reset();
  if (embedder) embedder->stop();
  if (reranker) reranker->stop();
  if (unwritten > 0) {
    log::warn("stopped; " + std::to_string(unwritten) + " responses could not be written");
    return 1;
  }
  log::info("stopped");
  return 0;
}

}  // namespace qembed::server
