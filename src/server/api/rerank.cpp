// Reranking over HTTP, with the reranker loaded by --reranker-model:
//   POST /v1/rerank  the Cohere / Jina shape that Open WebUI's external reranker, LangChain and LlamaIndex send:
//                    {model?, query, documents: [str | {"text"}], top_n?, return_documents?, instruction?,
//                    max_tokens_per_doc?, truncate?} -> {id, model, results: [{index, relevance_score, document?}],
//                    usage, meta: {truncated_documents}}; OpenAI-shaped errors.
//   POST /rerank     TEI's: {query, texts, raw_scores, return_text, truncate, truncation_direction} ->
//                    [{index, score, text?}]; TEI-shaped errors.
// Both go through the service's encode_rerank and the same submit path as embeddings (submit_encoded: admission,
// 429 with Retry-After, cancellation when the client goes); results best first.
#include <algorithm>
#include <cctype>
#include <memory>
#include <numeric>

#include "common/log.hpp"
#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

//! A number as the shortest text that reads back as the same double (what the JSON library writes).
std::string number_text(double v) { return json(v).dump(); }

//! The query: a required non-empty string.
std::string required_query(const json& body) {
  auto it = body.find("query");
  if (it == body.end() || it->is_null())
    throw ApiError(Failure::kInvalidInput, "missing required field query", "query");
  if (!it->is_string()) {
    throw ApiError(Failure::kInvalidInput, "query must be a string, got " + json_type_name(*it), "query");
  }
  if (it->get_ref<const std::string&>().empty()) {
    throw ApiError(Failure::kInvalidInput, "query is an empty string", "query");
  }
  return it->get<std::string>();
}

//! The documents field: 1..max_documents non-empty strings, or (Cohere / Jina) objects {"text": string}.
std::vector<std::string> required_documents(const json& body, const char* field, int64_t max_documents,
                                            bool allow_objects) {
  const std::string name = field;
  auto invalid = [&](const std::string& message) { return ApiError(Failure::kInvalidInput, message, name); };
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) throw invalid("missing required field " + name);
  const std::string item_kind = allow_objects ? "a string or an object with a string \"text\"" : "a string";
  if (!it->is_array())
    throw invalid(name + " must be an array, each item " + item_kind + ", got " + json_type_name(*it));
  if (it->empty()) throw invalid(name + " is an empty list");
  if (static_cast<int64_t>(it->size()) > max_documents) {
    throw ApiError(Failure::kTooLarge,
                   name + " has " + std::to_string(it->size()) + " items, the limit is " +
                       std::to_string(max_documents) + " (--max-client-batch-size)",
                   name);
  }
  std::vector<std::string> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = name + "[" + std::to_string(i) + "]";
    const json& d = (*it)[i];
    const json* text = &d;
    if (allow_objects && d.is_object()) {
      auto t = d.find("text");
      if (t == d.end() || !t->is_string()) {
        throw invalid(where + " must have a string \"text\", got " +
                      (t == d.end() ? std::string("none") : json_type_name(*t)));
      }
      text = &*t;
    }
    if (!text->is_string()) throw invalid(where + " must be " + item_kind + ", got " + json_type_name(d));
    if (text->get_ref<const std::string&>().empty()) throw invalid(where + " is an empty string");
    out.push_back(text->get<std::string>());
  }
  return out;
}

//! A positive integer field, or nullopt when absent.
std::optional<int64_t> opt_positive(const json& body, const char* field) {
  std::optional<int64_t> v = opt_int(body, field);
  if (v && *v < 1) {
    throw ApiError(Failure::kInvalidInput, std::string(field) + " must be at least 1, got " + std::to_string(*v),
                   field);
  }
  return v;
}

//! A service error as the route names things: "document 3 ..." becomes "documents[3] ..." (or "texts[3]"), and the
//! param is the field at fault.
ApiError rerank_error(const Error& e, const std::string& documents_field) {
  ApiError out = from_service_error(e);
  if (out.failure == Failure::kServerFault) return out;
  std::string msg = e.what();
  std::string param;
  if (msg.rfind("document ", 0) == 0 && msg.size() > 9 && std::isdigit(static_cast<unsigned char>(msg[9]))) {
    size_t end = 9;
    while (end < msg.size() && std::isdigit(static_cast<unsigned char>(msg[end]))) ++end;
    msg = documents_field + "[" + msg.substr(9, end - 9) + "]" + msg.substr(end);
    param = documents_field;
  } else if (msg.find("instruction") != std::string::npos) {
    param = "instruction";
  } else if (msg.find("query") != std::string::npos) {
    param = "query";
  }
  return ApiError(out.failure, msg, param, out.failure == Failure::kInputTooLong ? "context_length_exceeded" : "");
}

//! Document indices best first: by the raw logit (the sigmoid saturates at 1.0 long before the logits stop
//! differing), ties by index, so the order never depends on how the documents were batched.
std::vector<size_t> ranked(const service::RerankResult& r) {
  std::vector<size_t> order(r.scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return r.scores[a].logit > r.scores[b].logit; });
  return order;
}

//! Bytes of query text repeated across a request's documents allowed per byte of --payload-limit.
constexpr int64_t kMaxQueryRepeatsPerBodyByte = 16;

using RerankFormatter = std::function<std::string(service::RerankResult& result)>;

//! The rerank path both dialects share (on a tokenization worker): reserve the worst-case response (`returns_text`:
//! the documents are echoed), encode on the reranker, submit, and on completion answer `format`'s body.
void run_rerank(ApiEnv& env, const CallPtr& call, const std::string& query, const std::vector<std::string>& documents,
                const service::RerankParams& params, const std::string& documents_field, bool returns_text,
                RerankFormatter format) {
  service::EmbeddingService& rr = env.reranker();
  // Every document is tokenized with its own copy of the query: a long query times many short documents is far
  // more text than the body. Bound it so the tokenization workers stay within the start-up memory bound (ids are
  // at most 4 bytes a text byte; the bound allows 128 bytes of work per body byte).
  const auto n_docs = static_cast<int64_t>(documents.size());
  const int64_t repeated_bytes = n_docs * static_cast<int64_t>(query.size());
  const int64_t max_repeated_bytes = kMaxQueryRepeatsPerBodyByte * env.options.payload_limit_bytes;
  if (repeated_bytes > max_repeated_bytes) {
    throw ApiError(Failure::kTooLarge,
                   "the query (" + std::to_string(query.size()) + " bytes) is scored with each of the " +
                       std::to_string(n_docs) + " documents: " + std::to_string(repeated_bytes) +
                       " bytes to tokenize, over the limit of " + std::to_string(max_repeated_bytes) +
                       " (16 x --payload-limit); send fewer documents or a shorter query",
                   "query");
  }
  // Per result at most ~100 bytes besides its text ({"index":N,"relevance_score":<25 chars>,"document":{"text":
  // ""}}) and an index in meta; a text is escaped to at most 6 bytes a byte; the id, model id and usage within 1 KiB.
  int64_t bound = 1024 + 6 * static_cast<int64_t>(rr.model_info().id.size() + call->id.size());
  for (const std::string& d : documents) bound += 128 + (returns_text ? 6 * static_cast<int64_t>(d.size()) : 0);
  reserve_response(
      env, call, bound,
      "the response to " + std::to_string(documents.size()) + " documents" + (returns_text ? " with their texts" : ""));
  const Clock::time_point t0 = Clock::now();
  service::RerankRequest request;
  try {
    request = rr.encode_rerank(query, documents, params);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kIo || e.kind() == ErrorKind::kInternal) {
      log::error("encoding rerank request " + call->id + " failed: " + e.what());
    }
    throw rerank_error(e, documents_field);
  }
  call->tokenize_ms = ms_between(t0, Clock::now());
  submit_encoded(env, call, rr, std::move(request.encoded),
                 [truncated = std::move(request.truncated), format = std::move(format)](service::EmbedResult& r) {
                   service::RerankResult result = service::EmbeddingService::rerank_result(std::move(r), truncated);
                   return format(result);
                 });
}

service::RerankParams rerank_params(const json& body, bool default_truncate) {
  service::RerankParams p;
  p.instruction = opt_string(body, "instruction");
  if (p.instruction && p.instruction->empty()) {
    throw ApiError(Failure::kInvalidInput, "instruction is an empty string; omit it for the default task",
                   "instruction");
  }
  p.truncate = opt_bool(body, "truncate").value_or(default_truncate);
  p.truncate_hint = "\"truncate\": true";
  return p;
}

//! The `model` of a /v1/rerank request: empty or the reranker's id; the embedding model's id is kWrongModel (400),
//! any other kModelNotFound (404) naming the reranker served.
void check_reranker_name(const std::string& requested, const ApiEnv& env) {
  const std::string& id = env.reranker().model_info().id;
  if (requested.empty() || requested == id) return;
  if (const service::EmbeddingService* svc = env.embedder_or_null(); svc && requested == svc->model_info().id) {
    throw ApiError(Failure::kWrongModel,
                   "'" + requested + "' is an embedding model, not a reranker; this server reranks with \"" + id + "\"",
                   "model", "model_not_supported");
  }
  throw ApiError(Failure::kModelNotFound,
                 "model \"" + requested + "\" does not exist; this server reranks with \"" + id + "\"", "model",
                 "model_not_found");
}

void v1_rerank(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  check_reranker_name(opt_string(body, "model").value_or(""), env);
  const std::string query = required_query(body);
  auto documents = std::make_shared<std::vector<std::string>>(
      required_documents(body, "documents", env.options.max_client_batch_size, /*allow_objects=*/true));
  const auto n = static_cast<int64_t>(documents->size());
  // Cohere returns every document when top_n is larger (LangChain's CohereRerank asks for 3 of however many).
  const int64_t top_n = std::min(opt_positive(body, "top_n").value_or(n), n);
  const bool return_documents = opt_bool(body, "return_documents").value_or(false);
  service::RerankParams params = rerank_params(body, /*default_truncate=*/true);
  params.max_tokens = opt_positive(body, "max_tokens_per_doc").value_or(0);
  run_rerank(env, call, query, *documents, params, "documents", return_documents,
             [&env, call, top_n, documents = return_documents ? documents : nullptr](service::RerankResult& r) {
               std::string out = R"({"id":)";
               append_json_string(out, call->id);
               out += R"(,"model":)";
               append_json_string(out, env.reranker().model_info().id);
               out += R"(,"results":[)";
               const std::vector<size_t> order = ranked(r);
               for (int64_t k = 0; k < top_n; ++k) {
                 const size_t i = order[static_cast<size_t>(k)];
                 if (k) out += ',';
                 out += R"({"index":)" + std::to_string(i) + R"(,"relevance_score":)" + number_text(r.scores[i].score);
                 if (documents) {
                   out += R"(,"document":{"text":)";
                   append_json_string(out, (*documents)[i]);
                   out += '}';
                 }
                 out += '}';
               }
               out += R"(],"usage":{"prompt_tokens":)" + std::to_string(r.total_tokens) + R"(,"total_tokens":)" +
                      std::to_string(r.total_tokens) + R"(},"meta":{"truncated_documents":[)";
               bool first = true;
               for (size_t i = 0; i < r.truncated.size(); ++i) {
                 if (!r.truncated[i]) continue;
                 out += (first ? "" : ",") + std::to_string(i);
                 first = false;
               }
               out += "]}}";
               return out;
             });
}

void tei_rerank(ApiEnv& env, const CallPtr& call, Request& req) {
  const json body = parse_body(req.body());
  env.reranker();  // no reranker: 404 before the body's fields are judged
  const std::string query = required_query(body);
  auto texts = std::make_shared<std::vector<std::string>>(
      required_documents(body, "texts", env.options.max_client_batch_size, /*allow_objects=*/false));
  const bool raw_scores = opt_bool(body, "raw_scores").value_or(false);
  const bool return_text = opt_bool(body, "return_text").value_or(false);
  service::RerankParams params = rerank_params(body, env.options.auto_truncate);
  if (auto dir = opt_string(body, "truncation_direction")) {
    const std::optional<service::TruncationSide> side = service::parse_truncation_side(*dir);
    if (!side) {
      throw ApiError(Failure::kInvalidInput, "truncation_direction must be \"Right\" or \"Left\", got \"" + *dir + "\"",
                     "truncation_direction");
    }
    // The query and template must stay whole: only a document's end can be cut.
    if (*side == service::TruncationSide::kLeft) {
      throw ApiError(Failure::kInvalidInput,
                     "truncation_direction \"Left\" is not supported by the reranker: it cuts a text's end (\"Right\")",
                     "truncation_direction");
    }
  }
  run_rerank(env, call, query, *texts, params, "texts", return_text,
             [raw_scores, texts = return_text ? texts : nullptr](service::RerankResult& r) {
               std::string out = "[";
               const std::vector<size_t> order = ranked(r);
               for (size_t k = 0; k < order.size(); ++k) {
                 const size_t i = order[k];
                 if (k) out += ',';
                 const double score = raw_scores ? r.scores[i].logit : r.scores[i].score;
                 out += R"({"index":)" + std::to_string(i) + R"(,"score":)" + number_text(score);
                 if (texts) {
                   out += R"(,"text":)";
                   append_json_string(out, (*texts)[i]);
                 }
                 out += '}';
               }
               out += ']';
               return out;
             });
}

}  // namespace

void add_rerank_routes(RouteTable& t) {
  t.add({http::verb::post, "/v1/rerank", false, kEmbedRoles, "/v1/rerank", Dialect::kOpenAI, true, true, v1_rerank});
  t.add({http::verb::post, "/rerank", false, kEmbedRoles, "/rerank", Dialect::kTEI, true, true, tei_rerank});
}

}  // namespace qembed::server::api
