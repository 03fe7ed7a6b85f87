#include "server/app.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <ctime>
#include <new>

#include "common/log.hpp"
#include "server/api/throttle.hpp"
#include "server/http/request_id.hpp"

namespace qembed::server {

namespace http = boost::beast::http;
using api::ApiError;
using api::Call;
using api::CallPtr;
using api::Failure;

namespace {

double ms_since(api::Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(api::Clock::now() - t).count();
}

std::string header_value(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

std::string header_value(const Request& req, const char* name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

}  // namespace

App::App(const ServerOptions& options, api::KeyRing keys, Metrics& metrics, ConcurrencyLimiter& limiter,
         ByteBudget& responses)
    : options_(options),
      keys_(std::move(keys)),
      metrics_(metrics),
      limiter_(limiter),
      trusted_proxies_(options.trusted_proxies),
      rate_limiter_({bucket_spec(options.request_rate_limit, options.request_rate_burst),
                     bucket_spec(options.token_rate_limit, options.token_rate_burst)}),
      responses_(responses),
      work_(static_cast<size_t>(std::max(1, options.tokenization_workers))),
      env_{options, metrics, work_, responses, *this},
      routes_(api::make_route_table(!options.kb_path.empty())) {
  env_.started_unix_s = static_cast<int64_t>(std::time(nullptr));
  env_.keys = &keys_;
  if (rate_limiter_.enabled()) env_.rate_limiter = &rate_limiter_;
  if (!trusted_proxies_.empty() && !rate_limiter_.enabled()) {
    log::warn("--trusted-proxy has no effect without --request-rate-limit or --token-rate-limit");
  }
}

App::~App() {
  work_.stop();
  work_.join();
}

void App::set_ready(service::EmbeddingService* embedder, service::EmbeddingService* reranker,
                    KnowledgeBaseHost* knowledge_base) {
  env_.kb_ptr.store(knowledge_base, std::memory_order_release);
  env_.service_ptr.store(embedder, std::memory_order_release);
  env_.reranker_ptr.store(reranker, std::memory_order_release);
  env_.state.store(api::ServerState::kReady, std::memory_order_release);
}

api::CallPtr App::call_for_header(const Request* header) const {
  auto call = std::make_shared<Call>();
  call->received_at = api::Clock::now();
  call->id = header ? request_id_for(header_value(*header, "x-request-id")) : new_request_id();
  if (header) {
    const std::string target(header->target());
    call->path = target.substr(0, target.find('?'));
    call->method = std::string(header->method_string());
    call->origin = header_value(*header, http::field::origin);
    call->dialect = api::dialect_of_unknown_path(call->path);
  }
  return call;
}

void App::guarded(const CallPtr& call, const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    reply_error(call, e);
  } catch (const Error& e) {
    reply_error(call, api::from_service_error(e));
  } catch (const std::bad_alloc&) {
    reply_error(call, ApiError(Failure::kUnavailable, "out of memory while handling the request; retry with less"));
  } catch (const std::exception& e) {
    log::error("request " + call->id + ": " + e.what());
    reply_error(call, ApiError(Failure::kServerFault, "internal error; the server log has the details"));
  } catch (...) {
    reply_error(call, ApiError(Failure::kServerFault, "internal error"));
  }
}

void App::handle(Request&& req, std::shared_ptr<Exchange> ex) {
  CallPtr call;
  try {
    call = call_for_header(&req);
  } catch (...) {
    call = std::make_shared<Call>();
    call->received_at = api::Clock::now();
  }
  call->exchange = std::move(ex);
  guarded(call, [&] { dispatch(call, std::move(req)); });
}

HeaderVerdict App::check_header(const Request& header) {
  CallPtr call = call_for_header(&header);
  auto refuse = [&](const ApiError& e) {
    const int status = api::status_of(e.failure, call->dialect);
    Response res = error_response(*call, status, e);
    metrics_.request_done(call->label, status, 0);
    log::warn("rejected request before its body",
              {log::field("id", call->id), log::field("status", int64_t{status}),
               log::field("path", call->path.substr(0, 200)), log::field("reason", e.what())});
    return HeaderVerdict{std::move(res), nullptr};
  };
  try {
    HeaderVerdict verdict;
    const api::Route* route = admit(*call, header);
    if (route && route->stream_body) verdict.sink = route->stream_body(env_, header);
    return verdict;
  } catch (const ApiError& e) {
    return refuse(e);
  } catch (const std::exception& e) {
    // A streamer's own failure (no room for its temporary files...) is the server's, never the client's.
    log::error("request " + call->id + ": " + e.what());
    return refuse(ApiError(Failure::kServerFault, "the server could not prepare to receive the body"));
  }
}

const api::Route* App::admit(Call& call, const Request& req, api::KeyMatch* key_out) const {
  const http::verb method = req.method();
  if (method == http::verb::options && !options_.cors_origin.empty()) return nullptr;  // CORS preflight
  const api::RouteTable::Match m = routes_.find(method, call.path);
  const api::Route* route = m.route ? m.route : m.other_verb;
  if (route) {
    call.dialect = route->dialect;
    call.label = route->label;
  }
  // Keys: a public route needs none; elsewhere no valid key is 401, a key without the route's role 403.
  api::KeyMatch key;
  if (!keys_.empty() && !(route && route->roles == api::kPublic)) {
    key = keys_.match(header_value(req, http::field::authorization));
    const api::RoleSet roles = key.roles;
    if (roles == 0) {
      throw ApiError(Failure::kUnauthenticated, req.find(http::field::authorization) == req.end()
                                                    ? "missing API key: send the header Authorization: Bearer <key>"
                                                    : "invalid API key");
    }
    if (route && !(roles & route->roles)) {
      throw ApiError(Failure::kForbidden, "this API key (role " + api::role_names(roles) + ") may not call " +
                                              call.path + "; allowed roles: " + api::role_names(route->roles));
    }
  }
  if (key_out) *key_out = key;
  if (!route) throw ApiError(Failure::kRouteNotFound, "no route for " + call.method + " " + call.path);
  if (!m.route) {
    throw ApiError(Failure::kMethodNotAllowed, "method " + call.method + " is not allowed on " + call.path + "; use " +
                                                   std::string(http::to_string(route->method)));
  }
  const api::ServerState state = env_.state.load(std::memory_order_acquire);
  if (state == api::ServerState::kStopping) throw ApiError(Failure::kUnavailable, "the server is shutting down");
  if (state == api::ServerState::kLoading && route->needs_model) {
    throw ApiError(Failure::kUnavailable, "the model is loading; retry when GET /health returns 200");
  }
  return m.route;
}

void App::dispatch(const CallPtr& call, Request&& req) {
  // Checked again on the whole request: the state may have changed since the header.
  api::KeyMatch key;
  const api::Route* route = admit(*call, req, &key);
  if (!route) return reply(call, 204, "", "text/plain");  // CORS preflight; headers from add_common_headers()
  if (route->path.find('{') != std::string::npos) api::match_path_pattern(route->path, call->path, &call->path_params);
  if (!route->takes_slot) return route->handler(env_, call, req);
  if (env_.rate_limiter) {
    call->client = identify_client(req, call->exchange ? call->exchange->remote_ip : "", !keys_.empty(), key.index,
                                   trusted_proxies_);
    api::throttle_request(env_, *call);
  }
  if (!limiter_.try_acquire()) {
    throw ApiError(Failure::kBusy, "the server is at its limit of " + std::to_string(limiter_.limit()) +
                                       " concurrent requests; retry later");
  }
  call->holds_slot = true;
  {
    std::lock_guard lock(in_flight_mu_);
    in_flight_[call.get()] = call;
  }
  // Model routes parse JSON, tokenize and format: work proportional to the body, never on an I/O thread.
  boost::asio::post(work_, [this, call, route, req = std::move(req)]() mutable {
    guarded(call, [&] { route->handler(env_, call, req); });
  });
}

Response App::reject(int status, const std::string& message, const Request* header) {
  CallPtr call = call_for_header(header);
  if (header) {
    const api::RouteTable::Match m = routes_.find(header->method(), call->path);
    const api::Route* route = m.route ? m.route : m.other_verb;
    if (route) call->dialect = route->dialect;
  }
  Failure failure = Failure::kMalformed;
  if (status == 413) failure = Failure::kTooLarge;
  if (status == 429) failure = Failure::kBusy;
  if (status == 408) failure = Failure::kTimeout;
  if (status == 431) failure = Failure::kHeaderTooLarge;
  Response res = error_response(*call, status, ApiError(failure, message));
  metrics_.request_done("other", status, 0);
  log::warn("rejected request", {log::field("id", call->id), log::field("status", int64_t{status}),
                                 log::field("path", call->path.substr(0, 200)), log::field("reason", message)});
  return res;
}

Response App::error_response(const Call& call, int status, const ApiError& e) const {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  if (status == 429 || status == 503) res.set(http::field::retry_after, "1");
  add_common_headers(res, call);
  res.body() = api::error_body(call.dialect, e);
  return res;
}

void App::reply_error(const CallPtr& call, const ApiError& e) {
  const int status = api::status_of(e.failure, call->dialect);
  if (e.retry_after_s > 0) call->retry_after_s = e.retry_after_s;
  reply(call, status, api::error_body(call->dialect, e), "application/json");
}

void App::add_common_headers(Response& res, const Call& call) const {
  res.set(http::field::server, "qembed");
  res.set("X-Request-Id", call.id);
  if (options_.cors_origin.empty()) return;
  const std::string& allow = options_.cors_origin;
  if (allow == "*" || allow == call.origin) {
    res.set(http::field::access_control_allow_origin, allow == "*" ? "*" : call.origin);
    res.set(http::field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, X-Request-Id");
    res.set(http::field::access_control_expose_headers, "X-Request-Id");
    res.set(http::field::vary, "Origin");
  }
}

void App::reply(const CallPtr& call, int status, std::string body, std::string_view content_type) {
  if (call->answered.exchange(true)) return;  // answered already (e.g. 503 at the shutdown deadline)
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, std::string(content_type));
  if (status == 429 || status == 503) {
    res.set(http::field::retry_after, call->retry_after_s > 0 ? std::to_string(call->retry_after_s) : "1");
  }
  for (const auto& [name, value] : call->headers) res.set(name, value);
  add_common_headers(res, *call);
  res.body() = std::move(body);
  const double total_ms = ms_since(call->received_at);
  metrics_.request_done(call->label, status, total_ms / 1000.0);
  if (call->holds_slot) {
    std::lock_guard lock(in_flight_mu_);
    in_flight_.erase(call.get());
  }
  // The slot and the response bytes are held until the response is written (or the connection is gone), so a
  // client that does not read its responses holds them and no more. Only the limiter and the budget are touched
  // there: they outlive the transport, which may drop a connection after this App is gone.
  ConcurrencyLimiter* limiter = call->holds_slot ? &limiter_ : nullptr;
  ByteBudget& responses = responses_;
  auto written = [limiter, &responses, call] {
    if (const int64_t n = call->response_reserved.exchange(0)) responses.release(n);
    if (limiter) limiter->release();
  };
  // Logged before the write is handed over: replies come from the tokenization workers, and a client that has its
  // response should find its request's line in the log.
  log_request(*call, status, total_ms);
  if (call->exchange) {
    call->exchange->respond(std::move(res), std::move(written));
  } else {
    written();
  }
}

int64_t App::unanswered() {
  std::lock_guard lock(in_flight_mu_);
  return static_cast<int64_t>(in_flight_.size());
}

int64_t App::abort_in_flight(const std::string& message) {
  std::vector<CallPtr> calls;
  {
    std::lock_guard lock(in_flight_mu_);
    for (auto& [_, weak] : in_flight_) {
      if (CallPtr c = weak.lock()) calls.push_back(std::move(c));
    }
  }
  int64_t n = 0;
  for (const CallPtr& c : calls) {
    if (c->answered.load()) continue;
    *c->exchange->client_gone = true;  // the service drops what is left of it before its next batch
    reply_error(c, ApiError(Failure::kUnavailable, message));
    ++n;
  }
  return n;
}

void App::log_request(const Call& call, int status, double total_ms) const {
  std::vector<log::Field> fields = {log::field("inputs", call.n_inputs),         log::field("tokens", call.n_tokens),
                                    log::field("tokenize_ms", call.tokenize_ms), log::field("queue_ms", call.queue_ms),
                                    log::field("compute_ms", call.compute_ms),   log::field("total_ms", total_ms)};
  const std::string path = call.path.substr(0, 200);
  if (log::format() == log::Format::kJson) {
    fields.insert(fields.begin(), {log::field("id", call.id), log::field("method", call.method),
                                   log::field("path", path), log::field("status", int64_t{status})});
    log::info("request", fields);
  } else {
    log::info("request id=" + call.id + " " + call.method + " " + path + " " + std::to_string(status), fields);
  }
}

}  // namespace qembed::server
