// The Ollama dialect: POST /api/embed, the legacy POST /api/embeddings (`prompt` -> {"embedding": [...]}, what
// ollama.embeddings() calls), GET /api/tags (the model list Open WebUI and ollama-js read) and GET /api/version.
// `name` and `name:latest` are the same model. Errors: {"error": "<string>"}; a full queue is 503, as in Ollama.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

//! Ollama's parameter_size: "596M", "4.0B".
std::string parameter_size(const service::ModelInfo& m) {
  const auto params = static_cast<double>(m.n_params);
  char buf[32];
  if (params >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.1fB", params / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fM", params / 1e6);
  }
  return buf;
}

//! RFC 3339 UTC time of the model file's last change (the load time when it cannot be read).
std::string modified_at(const service::ModelInfo& m, int64_t fallback_unix_s) {
  struct stat st {};
  const time_t t = ::stat(m.path.c_str(), &st) == 0 ? st.st_mtime : static_cast<time_t>(fallback_unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string tagged(const std::string& id) { return id.find(':') == std::string::npos ? id + ":latest" : id; }

//! Ollama's defaults: truncation on, vectors always normalized.
service::EmbedParams ollama_params(const json& body) {
  service::EmbedParams p = parse_embed_params(body, /*default_truncate=*/true);
  p.normalize = true;
  return p;
}

void embed(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  check_model_name(opt_string(body, "model").value_or(""), env, Dialect::kOllama);
  service::EmbedInputs inputs = required_inputs(body, "input", env.options.max_client_batch_size, env.model().n_vocab);
  run_embedding(env, call, inputs, ollama_params(body), "input", [&env, call](service::EmbedResult& r) {
    std::string out = R"({"model":)";
    append_json_string(out, env.model().id);
    out += R"(,"embeddings":[)";
    for (size_t i = 0; i < r.vectors.size(); ++i) {
      if (i) out += ',';
      append_float_array(out, r.vectors[i]);
      std::vector<float>().swap(r.vectors[i]);
    }
    const auto total_ns =
        static_cast<int64_t>(std::chrono::duration<double, std::nano>(Clock::now() - call->received_at).count());
    out += R"(],"total_duration":)" + std::to_string(total_ns) + R"(,"load_duration":0,"prompt_eval_count":)" +
           std::to_string(r.total_tokens) + "}";
    return out;
  });
}

//! The legacy endpoint: one `prompt`, one `embedding`; an empty prompt answers an empty vector, as Ollama does.
void embeddings(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  check_model_name(opt_string(body, "model").value_or(""), env, Dialect::kOllama);
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null()) {
    throw ApiError(Failure::kInvalidInput, "missing required field prompt", "prompt");
  }
  if (!prompt->is_string()) {
    throw ApiError(Failure::kInvalidInput, "prompt must be a string, got " + json_type_name(*prompt), "prompt");
  }
  if (prompt->get_ref<const std::string&>().empty()) return json_reply(env, call, R"({"embedding":[]})");
  service::EmbedInputs inputs;
  inputs.texts.push_back(prompt->get<std::string>());
  run_embedding(env, call, inputs, ollama_params(body), "prompt", [](service::EmbedResult& r) {
    std::string out = R"({"embedding":)";
    append_float_array(out, r.vectors.at(0));
    out += '}';
    return out;
  });
}

//! Every model served (the reranker too: clients list models to check a name before they use it).
void tags(ApiEnv& env, const CallPtr& call, Request&) {
  json models = json::array();
  for (const service::ModelInfo* mp : env.served_models()) {
    const service::ModelInfo& m = *mp;
    const std::string name = tagged(m.id);
    json details = {{"parent_model", ""},
                    {"format", m.format},
                    {"family", m.architecture},
                    {"families", json::array({m.architecture})},
                    {"parameter_size", parameter_size(m)},
                    {"quantization_level", m.dtype}};
    models.push_back({{"name", name},
                      {"model", name},
                      {"modified_at", modified_at(m, env.started_unix_s)},
                      {"size", m.file_bytes},
                      {"digest", m.fingerprint},
                      {"details", details}});
  }
  json_reply(env, call, dump({{"models", models}}));
}

void version(ApiEnv& env, const CallPtr& call, Request&) { json_reply(env, call, dump({{"version", QEMBED_VERSION}})); }

}  // namespace

void add_ollama_routes(RouteTable& t) {
  t.add({http::verb::post, "/api/embed", false, kEmbedRoles, "/api/embed", Dialect::kOllama, true, true, embed});
  t.add({http::verb::post, "/api/embeddings", false, kEmbedRoles, "/api/embeddings", Dialect::kOllama, true, true,
         embeddings});
  t.add({http::verb::get, "/api/tags", false, kReadRoles, "/api/tags", Dialect::kOllama, true, false, tags});
  t.add({http::verb::get, "/api/version", false, kReadRoles, "/api/version", Dialect::kOllama, false, false, version});
}

}  // namespace qembed::server::api
