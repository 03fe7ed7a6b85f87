// The OpenAI dialect: POST /v1/embeddings (and /embeddings, where clients given a base URL without /v1 post),
// GET /v1/models and GET /v1/models/{id} (the embedding model and the reranker, each with its "role"). Errors:
// {"error": {"message", "type", "param", "code"}}.
#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

json model_object(const ApiEnv& env, const service::ModelInfo& m) {
  return {{"id", m.id}, {"object", "model"}, {"created", env.started_unix_s}, {"owned_by", "qembed"}, {"role", m.role}};
}

//! "A" or "A" and "B": the ids served, for 404 messages.
std::string served_ids(const ApiEnv& env) {
  std::string out;
  for (const service::ModelInfo* m : env.served_models()) out += (out.empty() ? "\"" : " and \"") + m->id + "\"";
  return out;
}

void embeddings(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  check_model_name(opt_string(body, "model").value_or(""), env, Dialect::kOpenAI);
  const service::ModelInfo& model = env.model();
  service::EmbedInputs inputs = required_inputs(body, "input", env.options.max_client_batch_size, model.n_vocab);
  service::EmbedParams params = parse_embed_params(body, env.options.auto_truncate);
  const std::string fmt = opt_string(body, "encoding_format").value_or("float");
  if (fmt != "float" && fmt != "base64") {
    throw ApiError(Failure::kInvalidInput, "encoding_format must be \"float\" or \"base64\", got \"" + fmt + "\"",
                   "encoding_format");
  }
  opt_string(body, "user");  // accepted (type-checked), not used
  const bool base64 = fmt == "base64";
  run_embedding(env, call, inputs, params, "input", base64, [&env, base64](service::EmbedResult& r) {
    std::string out;
    const size_t dims = r.vectors.empty() ? 0 : r.vectors[0].size();
    out.reserve(r.vectors.size() * (dims * (base64 ? 6 : 12) + 48) + 256);
    out += R"({"object":"list","data":[)";
    for (size_t i = 0; i < r.vectors.size(); ++i) {
      if (i) out += ',';
      out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
      if (base64) {
        out += '"' + base64_floats(r.vectors[i]) + '"';
      } else {
        append_float_array(out, r.vectors[i]);
      }
      out += '}';
      std::vector<float>().swap(r.vectors[i]);  // keep the peak at one copy of the vectors
    }
    out += R"(],"model":)";
    append_json_string(out, env.model().id);
    out += R"(,"usage":{"prompt_tokens":)" + std::to_string(r.total_tokens) + R"(,"total_tokens":)" +
           std::to_string(r.total_tokens) + "}}";
    return out;
  });
}

void models(ApiEnv& env, const CallPtr& call, Request&) {
  json data = json::array();
  for (const service::ModelInfo* m : env.served_models()) data.push_back(model_object(env, *m));
  json_reply(env, call, dump({{"object", "list"}, {"data", data}}));
}

void model(ApiEnv& env, const CallPtr& call, Request&) {
  const std::string id = call->path.substr(std::string_view("/v1/models/").size());
  for (const service::ModelInfo* m : env.served_models()) {
    if (m->id == id) return json_reply(env, call, dump(model_object(env, *m)));
  }
  throw ApiError(Failure::kModelNotFound, "model \"" + id + "\" does not exist; this server serves " + served_ids(env),
                 "model", "model_not_found");
}

}  // namespace

void add_openai_routes(RouteTable& t) {
  for (const char* path : {"/v1/embeddings", "/embeddings"}) {
    t.add({http::verb::post, path, false, kEmbedRoles, path, Dialect::kOpenAI, true, true, embeddings});
  }
  t.add({http::verb::get, "/v1/models", false, kReadRoles, "/v1/models", Dialect::kOpenAI, true, false, models});
  t.add({http::verb::get, "/v1/models/", true, kReadRoles, "/v1/models/{id}", Dialect::kOpenAI, true, false, model});
}

}  // namespace qembed::server::api
