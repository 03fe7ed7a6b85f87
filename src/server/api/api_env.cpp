// ApiEnv's model lookups: which service a route gets, and the refusals when the server does not load the model a
// route needs (an embedding route on a reranker-only server, a rerank route without --reranker-model).
#include "server/api/api.hpp"

namespace qembed::server::api {

service::EmbeddingService& ApiEnv::service() const {
  if (service::EmbeddingService* svc = embedder_or_null()) return *svc;
  const service::EmbeddingService* rr = reranker_or_null();
  throw ApiError(Failure::kWrongModel,
                 "this server serves no embedding model, only the reranker '" + (rr ? rr->model_info().id : "") +
                     "' (POST /v1/rerank or /rerank); start it with --model for embeddings",
                 "model", "model_not_supported");
}

service::EmbeddingService& ApiEnv::reranker() const {
  if (service::EmbeddingService* rr = reranker_or_null()) return *rr;
  throw ApiError(Failure::kModelNotFound, "no reranker is loaded: start the server with --reranker-model", "model",
                 "model_not_found");
}

std::vector<const service::ModelInfo*> ApiEnv::served_models() const {
  std::vector<const service::ModelInfo*> out;
  if (const service::EmbeddingService* svc = embedder_or_null()) out.push_back(&svc->model_info());
  if (const service::EmbeddingService* rr = reranker_or_null()) out.push_back(&rr->model_info());
  return out;
}

void json_reply(ApiEnv& env, const CallPtr& call, std::string body, int status) {
  env.responder.reply(call, status, std::move(body), "application/json");
}

void check_model_name(const std::string& requested, const ApiEnv& env, Dialect dialect) {
  const std::string& id = env.model().id;  // refuses first on a reranker-only server
  if (requested.empty() || requested == id) return;
  if (dialect == Dialect::kOllama && requested == id + ":latest") return;
  if (const service::EmbeddingService* rr = env.reranker_or_null()) {
    const std::string& rr_id = rr->model_info().id;
    if (requested == rr_id || (dialect == Dialect::kOllama && requested == rr_id + ":latest")) {
      throw ApiError(Failure::kWrongModel,
                     "'" + requested +
                         "' is a reranker, not an embedding model: rerank with POST /v1/rerank; this "
                         "server embeds with \"" +
                         id + "\"",
                     "model", "model_not_supported");
    }
  }
  std::string message = "model \"" + requested + "\" does not exist; this server serves \"" + id + "\"";
  if (dialect == Dialect::kOllama) message = "model \"" + requested + "\" not found; this server serves \"" + id + "\"";
  throw ApiError(Failure::kModelNotFound, message, "model", "model_not_found");
}

}  // namespace qembed::server::api
