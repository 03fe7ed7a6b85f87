#include "server/app.hpp"

#include <boost/beast/http.hpp>
#include <cstdio>
#include <ctime>
#include <new>

#include "common/error.hpp"

namespace qembed::server {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

//! The metrics label of a path: known routes by name, everything else "other" (bounded label cardinality).
std::string endpoint_label(const std::string& path) {
  static const char* known[] = {"/v1/embeddings", "/embeddings", "/v1/models", "/embed",  "/tokenize",
                                "/info",          "/api/embed",  "/health",    "/metrics"};
  for (const char* k : known) {
    if (path == k) return k;
  }
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

bool is_model_route(const std::string& path) {
  return path == "/v1/embeddings" || path == "/embeddings" || path == "/embed" || path == "/api/embed" ||
         path == "/tokenize";
}

}  // namespace

App::App(const ServerOptions& options, Metrics& metrics, boost::asio::io_context& io)
    : options_(options), metrics_(metrics), io_(io), created_unix_s_(static_cast<int64_t>(std::time(nullptr))) {}

void App::set_ready(const Model& model, Scheduler& scheduler, std::string served_name, double load_s) {
  model_ = &model;
  scheduler_ = &scheduler;
  served_name_ = std::move(served_name);
  load_s_ = load_s;
  max_input_tokens_ =
      options_.max_input_tokens > 0 ? std::min(options_.max_input_tokens, model.config.n_ctx) : model.config.n_ctx;
  state_.store(ServerState::kReady, std::memory_order_release);
}

void App::handle(Request&& req, std::shared_ptr<Exchange> ex) {
  auto ctx = std::make_shared<RequestContext>();
  ctx->id = next_id_++;
  ctx->received_at = Clock::now();
  ctx->exchange = std::move(ex);
  try {
    std::string target(req.target());
    ctx->path = target.substr(0, target.find('?'));
    ctx->method = std::string(req.method_string());
    ctx->endpoint = endpoint_label(ctx->path);
    if (auto it = req.find(http::field::origin); it != req.end()) ctx->origin = std::string(it->value());
    route(ctx, req);
  } catch (const ApiError& e) {
    fail(ctx, e);
  } catch (const Error& e) {
    fail(ctx, ApiError(400, e.what()));
  } catch (const std::bad_alloc&) {
    fail(ctx, ApiError(503, "out of memory while handling the request; retry with a smaller request"));
  } catch (const std::exception& e) {
    fail(ctx, ApiError(500, std::string("internal error: ") + e.what()));
  } catch (...) {
    fail(ctx, ApiError(500, "internal error"));
  }
}

void App::route(const Ctx& ctx, Request& req) {
  const std::string& path = ctx->path;
  const http::verb method = req.method();
  if (method == http::verb::options && !options_.cors_origin.empty()) {
    return finish(ctx, 204, "", "text/plain");  // CORS preflight; headers are added by finish()
  }
  if (!options_.api_key.empty() && path != "/health") {
    auto it = req.find(http::field::authorization);
    const std::string want = "Bearer " + options_.api_key;
    if (it == req.end()) throw ApiError(401, "missing API key: send the header Authorization: Bearer <key>");
    if (std::string(it->value()) != want) throw ApiError(401, "invalid API key");
  }
  auto expect = [&](http::verb v) {
    if (method != v) {
      throw ApiError(
          405, "method " + ctx->method + " is not allowed on " + path + "; use " + std::string(http::to_string(v)));
    }
  };
  if (path == "/health") {
    expect(http::verb::get);
    switch (state_.load()) {
      case ServerState::kReady:
        return finish(ctx, 200, R"({"status":"ok"})", "application/json");
      case ServerState::kLoading:
        throw ApiError(503, "the model is loading");
      case ServerState::kStopping:
        throw ApiError(503, "the server is shutting down");
    }
  }
  if (path == "/metrics") {
    expect(http::verb::get);
    return finish(ctx, 200, metrics_.render(), "text/plain; version=0.0.4");
  }
  const ServerState state = state_.load(std::memory_order_acquire);
  if (state == ServerState::kLoading) throw ApiError(503, "the model is loading; retry when GET /health returns 200");
  if (state == ServerState::kStopping) throw ApiError(503, "the server is shutting down");

  if (path == "/info") {
    expect(http::verb::get);
    return finish(ctx, 200, info().dump(), "application/json");
  }
  if (path == "/v1/models") {
    expect(http::verb::get);
    return finish(ctx, 200, models().dump(), "application/json");
  }
  if (path.rfind("/v1/models/", 0) == 0) {
    expect(http::verb::get);
    std::string id = path.substr(11);
    if (id != served_name_) throw ApiError(404, "model \"" + id + "\" does not exist", "model", "model_not_found");
    return finish(ctx, 200, models()["data"][0].dump(), "application/json");
  }
  if (!is_model_route(path)) throw ApiError(404, "no route for " + ctx->method + " " + path);
  expect(http::verb::post);

  // Admission: a slot among --max-concurrent-requests, or 429 at once.
  if (metrics_.requests_in_flight.fetch_add(1) >= options_.max_concurrent_requests) {
    --metrics_.requests_in_flight;
    throw ApiError(429, "the server is at its limit of " + std::to_string(options_.max_concurrent_requests) +
                            " concurrent requests; retry later");
  }
  ctx->counted_in_flight = true;
  json body = parse_body(req.body());
  req.body().clear();
  req.body().shrink_to_fit();
  if (path == "/tokenize") return tokenize(ctx, body);
  const Api api = path == "/embed" ? Api::kTEI : path == "/api/embed" ? Api::kOllama : Api::kOpenAI;
  embed(ctx, body, api);
}

Response App::reject(int status, const std::string& message) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "qembed");
  if (status == 429 || status == 503) res.set(http::field::retry_after, "1");
  res.body() = error_body(status, message);
  metrics_.request_done("other", status, 0);
  std::fprintf(stderr, "qembed: rejected request: %d %s\n", status, message.c_str());
  return res;
}

void App::fail(const Ctx& ctx, const ApiError& e) {
  std::string retry_after;
  if (e.status == 429 || e.status == 503) retry_after = "1";
  finish(ctx, e.status, error_body(e.status, e.what(), e.param, e.code), "application/json", retry_after);
}

void App::finish(const Ctx& ctx, int status, std::string body, const char* content_type,
                 const std::string& retry_after) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "qembed");
  res.set(http::field::content_type, content_type);
  res.set("x-request-id", std::to_string(ctx->id));
  if (!retry_after.empty()) res.set(http::field::retry_after, retry_after);
  if (!options_.cors_origin.empty()) {
    const std::string& allow = options_.cors_origin;
    if (allow == "*" || allow == ctx->origin) {
      res.set(http::field::access_control_allow_origin, allow == "*" ? "*" : ctx->origin);
      res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
      res.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
      res.set(http::field::vary, "Origin");
    }
  }
  res.body() = std::move(body);
  const double total_ms = ms_since(ctx->received_at);
  if (ctx->counted_in_flight) --metrics_.requests_in_flight;
  metrics_.request_done(ctx->endpoint, status, total_ms / 1000.0);
  if (ctx->exchange) ctx->exchange->respond(std::move(res));

  char line[512];
  if (options_.log_format == "json") {
    json j = {{"ts", static_cast<int64_t>(std::time(nullptr))},
              {"id", ctx->id},
              {"method", ctx->method},
              {"path", ctx->path},
              {"status", status},
              {"inputs", ctx->n_inputs},
              {"tokens", ctx->n_tokens},
              {"tokenize_ms", ctx->tokenize_ms},
              {"queue_ms", ctx->queue_ms},
              {"compute_ms", ctx->compute_ms},
              {"total_ms", total_ms}};
    std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    std::snprintf(line, sizeof line,
                  "qembed: request id=%llu %s %.200s %d inputs=%lld tokens=%lld tokenize_ms=%.2f queue_ms=%.2f "
                  "compute_ms=%.2f total_ms=%.2f\n",
                  static_cast<unsigned long long>(ctx->id), ctx->method.c_str(), ctx->path.c_str(), status,
                  static_cast<long long>(ctx->n_inputs), static_cast<long long>(ctx->n_tokens), ctx->tokenize_ms,
                  ctx->queue_ms, ctx->compute_ms, total_ms);
    std::fputs(line, stderr);
  }
}

}  // namespace qembed::server
