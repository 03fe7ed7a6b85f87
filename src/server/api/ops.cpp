// Operations routes: GET /health (200 ready; 503 loading, shutting down, or while the knowledge base opens its vector
// indexes, with the reason), GET /metrics (Prometheus text; also on
// --metrics-port without a key), GET /openapi.json (the route list as OpenAPI 3).
#include "server/api/routes.hpp"

namespace qembed::server::api {

namespace http = boost::beast::http;

namespace {

void health(ApiEnv& env, const CallPtr& call, Request&) {
  switch (env.state.load()) {
    case ServerState::kReady:
      if (env.has_kb()) {
        if (std::optional<std::string> reason = env.kb().not_ready_reason())
          throw ApiError(Failure::kUnavailable, *reason);
      }
      return json_reply(env, call, R"({"status":"ok"})");
    case ServerState::kLoading:
      throw ApiError(Failure::kUnavailable, "the model is loading");
    case ServerState::kStopping:
      throw ApiError(Failure::kUnavailable, "the server is shutting down");
  }
}

void metrics(ApiEnv& env, const CallPtr& call, Request&) {
  env.responder.reply(call, 200, env.metrics.render(), "text/plain; version=0.0.4");
}

void openapi(ApiEnv& env, const CallPtr& call, Request&) {
  json_reply(env, call, openapi_json(!env.options.kb_path.empty()));
}

}  // namespace

void add_ops_routes(RouteTable& t) {
  t.add({http::verb::get, "/health", false, kPublic, "/health", Dialect::kOpenAI, false, false, health});
  t.add({http::verb::get, "/metrics", false, kAdminRoles, "/metrics", Dialect::kOpenAI, false, false, metrics});
  t.add({http::verb::get, "/openapi.json", false, kPublic, "/openapi.json", Dialect::kOpenAI, false, false, openapi});
}

}  // namespace qembed::server::api
