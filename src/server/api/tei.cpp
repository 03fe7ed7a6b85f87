// The text-embeddings-inference dialect: POST /embed (and POST / and /invocations, which TEI routes to /embed for
// embedding models: @huggingface/inference and LangChain's HuggingFaceInferenceEmbeddings post to the URL they
// are given), POST /tokenize, GET /info (POST /rerank is in rerank.cpp). Errors: {"error": "<message>", "error_type":
// "Validation" | ...} with TEI's statuses (413 too large, 422 validation, 429 overloaded, 503 unhealthy).
#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

//! The most one token's object takes in a /tokenize response besides its escaped text: {"id":N,"special":false,
//! "start":N,"stop":N,"text":""} with 10-digit id and 20-digit offsets, and a comma.
constexpr int64_t kMaxTokenWrapBytes = 112;

void embed(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  service::EmbedInputs inputs = required_inputs(body, "inputs", env.options.max_client_batch_size, env.model().n_vocab);
  service::EmbedParams params = parse_embed_params(body, env.options.auto_truncate);
  run_embedding(env, call, inputs, params, "inputs", [](service::EmbedResult& r) {
    std::string out = "[";
    for (size_t i = 0; i < r.vectors.size(); ++i) {
      if (i) out += ',';
      append_float_array(out, r.vectors[i]);
      std::vector<float>().swap(r.vectors[i]);
    }
    out += ']';
    return out;
  });
}

void tokenize(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  service::EmbedInputs in = required_inputs(body, "inputs", env.options.max_client_batch_size, env.model().n_vocab);
  if (in.are_tokens) throw ApiError(Failure::kInvalidInput, "inputs must be a string or an array of strings", "inputs");
  const bool add_special = opt_bool(body, "add_special_tokens").value_or(true);
  service::EmbedParams params;
  params.prompt_name = opt_string(body, "prompt_name");
  std::vector<service::TokenizedInput> tokenized;
  try {
    tokenized = env.service().tokenize(in.texts, params, add_special);
  } catch (const Error& e) {
    ApiError a = from_service_error(e);
    throw ApiError(a.failure, a.what(), e.kind() == ErrorKind::kInvalidInput ? "inputs" : "");
  }
  in = {};  // the texts are no longer needed: free them before the response is written
  // The response is bounded before it is written: reserve its worst case from the response budget (a request too
  // large for the whole budget is a 413 naming the numbers). Written straight to text, without a JSON tree (one
  // object per token would cost ~10x the text).
  int64_t bound = 2, n_tokens = 0;
  for (const service::TokenizedInput& t : tokenized) {
    bound += 3;
    for (const service::TokenPiece& p : t.pieces) bound += kMaxTokenWrapBytes + 6 * static_cast<int64_t>(p.text.size());
    n_tokens += static_cast<int64_t>(t.pieces.size());
  }
  reserve_response(env, call, bound, "the /tokenize response of " + std::to_string(n_tokens) + " tokens");
  std::string out = "[";
  for (size_t i = 0; i < tokenized.size(); ++i) {
    if (i) out += ',';
    out += '[';
    const std::vector<service::TokenPiece>& pieces = tokenized[i].pieces;
    for (size_t j = 0; j < pieces.size(); ++j) {
      const service::TokenPiece& p = pieces[j];
      if (j) out += ',';
      // The keys in the order the JSON tree used to write them (sorted).
      out += R"({"id":)" + std::to_string(p.id) + R"(,"special":)" + (p.special ? "true" : "false") + R"(,"start":)" +
             std::to_string(p.start) + R"(,"stop":)" + std::to_string(p.stop) + R"(,"text":)";
      append_json_string(out, p.text);
      out += '}';
    }
    out += ']';
    std::vector<service::TokenPiece>().swap(tokenized[i].pieces);  // keep the peak at one copy of the tokens
  }
  out += ']';
  call->n_tokens = n_tokens;
  call->n_inputs = static_cast<int64_t>(tokenized.size());
  json_reply(env, call, std::move(out));
}

//! TEI's model_type: {"embedding": {"pooling"}} or, for a reranker, {"reranker": {"id2label", "label2id"}} (one
//! label: the score is P("yes")).
json model_type(const service::ModelInfo& m) {
  if (m.role == "reranker") {
    return {{"reranker", {{"id2label", {{"0", "yes"}}}, {"label2id", {{"yes", 0}}}}}};
  }
  return {{"embedding", {{"pooling", "last_token"}}}};
}

json backend_json(const service::ModelInfo& m) {
  return {{"name", m.backend.name}, {"numeric_path", m.backend.numeric_path}, {"threads", m.backend.n_threads}};
}

//! TEI's fields describe one model: the embedding model when there is one, else the reranker. With both, the
//! reranker is described under "reranker".
void info(ApiEnv& env, const CallPtr& call, Request&) {
  const service::EmbeddingService* embedder = env.embedder_or_null();
  const service::EmbeddingService* rr = env.reranker_or_null();
  const service::EmbeddingService& primary = embedder ? *embedder : env.reranker();
  const service::ModelInfo& m = primary.model_info();
  const service::ServiceOptions& so = primary.options();
  const ServerOptions& o = env.options;
  json j = {
      {"model_id", m.id},
      {"model_sha", nullptr},
      {"model_path", m.path},
      {"model_dtype", m.dtype},
      {"model_type", model_type(m)},
      {"embedding_dimensions", embedder ? json(m.n_embd) : json(nullptr)},
      {"max_concurrent_requests", o.max_concurrent_requests},
      {"max_input_length", m.max_input_tokens},
      {"max_batch_tokens", so.max_batch_tokens},
      {"max_batch_requests", so.max_batch_inputs > 0 ? json(so.max_batch_inputs) : json(nullptr)},
      {"max_client_batch_size", o.max_client_batch_size},
      {"auto_truncate", o.auto_truncate},
      {"tokenization_workers", o.tokenization_workers},
      {"version", QEMBED_VERSION},
      // Beyond TEI's fields, for the web UI's server page: where the model runs and what the process may use.
      {"backend", backend_json(m)},
      {"memory_bound_bytes", env.memory_bound_bytes.load()},
      {"knowledge_base", env.has_kb()},
      {"reranker", nullptr},
  };
  if (rr) {
    const service::ModelInfo& r = rr->model_info();
    j["reranker"] = {{"model_id", r.id},
                     {"model_path", r.path},
                     {"model_dtype", r.dtype},
                     {"model_type", model_type(r)},
                     {"max_input_length", r.max_input_tokens},
                     {"backend", backend_json(r)}};
  }
  json_reply(env, call, dump(j));
}

}  // namespace

void add_tei_routes(RouteTable& t) {
  for (const char* path : {"/embed", "/", "/invocations"}) {
    t.add({http::verb::post, path, false, kEmbedRoles, path, Dialect::kTEI, true, true, embed});
  }
  t.add({http::verb::post, "/tokenize", false, kEmbedRoles, "/tokenize", Dialect::kTEI, true, true, tokenize});
  t.add({http::verb::get, "/info", false, kReadRoles, "/info", Dialect::kTEI, true, false, info});
}

}  // namespace qembed::server::api
