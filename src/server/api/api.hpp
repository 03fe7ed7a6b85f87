#pragma once
// What every API handler works with: the Call (one request while it is served) and the ApiEnv (the service, the
// options, where to answer). A handler reads its inputs, calls the service (encode -> submit) and formats the result
// in its own dialect; it answers through ApiEnv::responder, at once or later from the service's callback, or
// throws an ApiError, which the router answers in the route's dialect. Handlers never see the model, the engine or
// the backend: only service::EmbeddingService.
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/admission.hpp"
#include "server/api/auth.hpp"
#include "server/api/errors.hpp"
#include "server/client_identity.hpp"
#include "server/http/http_server.hpp"
#include "server/kb_host.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/server_options.hpp"
#include "service/embedding_service.hpp"

namespace qembed::server::api {

using Clock = std::chrono::steady_clock;

enum class ServerState { kLoading, kReady, kStopping };

//! One request while it is served; shared with the service's completion callback.
struct Call {
  std::string id;                        //!< X-Request-Id: the client's when sane, else generated
  std::string method, path;              //!< path without the query string
  std::string label = "other";           //!< the metrics label: the route's, or "other"
  Dialect dialect = Dialect::kOpenAI;    //!< the error shape
  std::string origin;                    //!< the Origin header (CORS)
  std::vector<std::string> path_params;  //!< the `{...}` segments of a pattern route, percent-decoded
  Clock::time_point received_at;
  std::shared_ptr<Exchange> exchange;
  int64_t n_inputs = 0, n_tokens = 0;
  double tokenize_ms = 0, queue_ms = 0, compute_ms = 0;
  bool holds_slot = false;                    //!< holds a --max-concurrent-requests slot until its response is written
  std::atomic<int64_t> response_reserved{0};  //!< bytes of the response budget held until the response is written
  std::atomic<bool> answered{false};          //!< the first reply wins; later ones are dropped

  std::optional<ClientId> client;  //!< who the per-client rate limits count against (set when they are on)
  std::vector<std::pair<std::string, std::string>> headers;  //!< extra response headers (X-RateLimit-*)
  int64_t retry_after_s = 0;                                 //!< Retry-After of a 429/503; 0: 1 s
};
using CallPtr = std::shared_ptr<Call>;

//! Answers calls: writes the response, then counts and logs the request. Any thread; the first answer counts.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void reply(const CallPtr& call, int status, std::string body, std::string_view content_type) = 0;
  virtual void reply_error(const CallPtr& call, const ApiError& error) = 0;
};

struct ApiEnv {
  const ServerOptions& options;
  Metrics& metrics;
  boost::asio::thread_pool& work;  //!< the tokenization workers: parsing, tokenizing and formatting run there
  ByteBudget& responses;           //!< --max-response-buffer-mb: responses being formatted or written
  Responder& responder;
  std::atomic<ServerState> state{ServerState::kLoading};
  //! The embedding model (--model); null on a reranker-only server. Both pointers are set before state becomes kReady.
  std::atomic<service::EmbeddingService*> service_ptr{nullptr};
  //! The reranker (--reranker-model); null without one.
  std::atomic<service::EmbeddingService*> reranker_ptr{nullptr};
  int64_t started_unix_s = 0;                       //!< for OpenAI's "created"
  RateLimiter* rate_limiter = nullptr;              //!< per-client limits (nullptr: none)
  std::atomic<KnowledgeBaseHost*> kb_ptr{nullptr};  //!< --kb: set before state becomes kReady
  const KeyRing* keys = nullptr;                    //!< the configured API keys (GET /v1/whoami)
  std::atomic<int64_t> memory_bound_bytes{0};       //!< the start-up memory bound (GET /info); 0: unknown

  //! The embedding service (routes that need a model run only once the models are set). On a reranker-only server
  //! throws kWrongModel (400): "this server serves no embedding model, only the reranker 'ID'".
  service::EmbeddingService& service() const;
  const service::ModelInfo& model() const { return service().model_info(); }
  //! The reranker service; without one throws kModelNotFound (404): "no reranker is loaded: start the server with
  //! --reranker-model".
  service::EmbeddingService& reranker() const;
  service::EmbeddingService* embedder_or_null() const { return service_ptr.load(std::memory_order_acquire); }
  service::EmbeddingService* reranker_or_null() const { return reranker_ptr.load(std::memory_order_acquire); }
  //! The models served, embedding model first (for /v1/models, /api/tags).
  std::vector<const service::ModelInfo*> served_models() const;
  //! The knowledge base (its routes exist only with --kb, and need the model, so they run once it is set).
  KnowledgeBaseHost& kb() const { return *kb_ptr.load(std::memory_order_acquire); }
  bool has_kb() const { return kb_ptr.load(std::memory_order_acquire) != nullptr; }
};

void json_reply(ApiEnv& env, const CallPtr& call, std::string body, int status = 200);

//! Throws kModelNotFound unless `requested` is empty or names the embedding model (`id`; for Ollama also
//! `id:latest`); kWrongModel when it names the reranker.
void check_model_name(const std::string& requested, const ApiEnv& env, Dialect dialect);

//! Formats a finished request's body (on a tokenization worker).
using Formatter = std::function<std::string(service::EmbedResult& result)>;

//! Reserves `bytes` of the response budget for this call's response (released once it is written): kTooLarge (413)
//! when they exceed the whole budget, kBusy (429) when it is used up now. `what` describes the response in the
//! 413 message ("the response to 2048 inputs of 1024 dimensions").
void reserve_response(ApiEnv& env, const CallPtr& call, int64_t bytes, const std::string& what);

//! The largest response an embedding request can have, in every dialect: `n_inputs` vectors of `dims` floats as
//! text (or base64), each with its wrapping, plus the model id, usage and HTTP header.
int64_t max_embedding_response_bytes(const ApiEnv& env, int64_t n_inputs, int64_t dims, bool base64);

//! Queues an encoded request on `svc` (on a tokenization worker; the caller has reserved its response and encoded
//! it): counts its tokens against the client's rate limit, submits it, and on completion `format`s the result on a
//! tokenization worker and answers. Admission outcomes become kBusy (429 with Retry-After) / kTooLarge /
//! kUnavailable. Shared by embeddings and reranking.
void submit_encoded(ApiEnv& env, const CallPtr& call, service::EmbeddingService& svc, service::EncodedRequest request,
                    Formatter format);

//! The embedding path every dialect shares (on a tokenization worker): reserve the worst-case response (base64 or
//! float text), encode, then submit_encoded(). Encode errors are thrown as ApiErrors naming `input_field`.
void run_embedding(ApiEnv& env, const CallPtr& call, const service::EmbedInputs& inputs,
                   const service::EmbedParams& params, const std::string& input_field, bool base64, Formatter format);
//! The same with the response as float text.
void run_embedding(ApiEnv& env, const CallPtr& call, const service::EmbedInputs& inputs,
                   const service::EmbedParams& params, const std::string& input_field, Formatter format);

}  // namespace qembed::server::api
