#pragma once
// The router between the transport and the API handlers: per request it assigns the X-Request-Id, finds the route,
// checks the key's role (401/403) and the server state (503 while loading or shutting down) — already on the header,
// before the body is reserved or read (check_header) — then a concurrency slot (429), then calls the route's
// handler: model routes on the tokenization workers (parsing, tokenizing and formatting never hold an I/O thread),
// the others inline; model routes also count against the client's rate limits (rate_limit.hpp). Every answer goes
// through reply(), which adds the common headers, counts and logs the request; the slot and the response bytes are
// released once the response is written. handle() never throws: every failure becomes a response in the route's
// dialect.
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "server/admission.hpp"
#include "server/api/api.hpp"
#include "server/api/auth.hpp"
#include "server/api/routes.hpp"
#include "server/client_identity.hpp"
#include "server/http/http_server.hpp"
#include "server/kb_host.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/server_options.hpp"

namespace qembed::server {

class App final : public api::Responder {
 public:
  //! `limiter` and `responses` must outlive the transport: a connection dropped when it is destroyed still
  //! releases what its response held.
  App(const ServerOptions& options, api::KeyRing keys, Metrics& metrics, ConcurrencyLimiter& limiter,
      ByteBudget& responses);
  //! Stops the tokenization workers (queued work is dropped) and waits for the running ones.
  ~App() override;

  //! Publishes the running services — the embedding model and the reranker, either may be null but not both — and
  //! the knowledge base (with --kb): from now on the model routes answer.
  void set_ready(service::EmbeddingService* embedder, service::EmbeddingService* reranker,
                 KnowledgeBaseHost* knowledge_base = nullptr);
  //! Shutting down: every new request is answered 503 (Connection: close comes from the transport).
  void set_stopping() { env_.state = api::ServerState::kStopping; }
  //! The start-up memory bound, for GET /info.
  void set_memory_bound(int64_t bytes) { env_.memory_bound_bytes = bytes; }

  //! The transport's HeaderCheck: route, key and role, server state, on the header alone; for an upload route, the
  //! sink its body streams into.
  HeaderVerdict check_header(const Request& header);
  //! The transport's Handler.
  void handle(Request&& req, std::shared_ptr<Exchange> ex);
  //! The transport's RejectHandler: an error response in the dialect of the request's path when it is known.
  Response reject(int status, const std::string& message, const Request* header);
  //! Answers 503 to every admitted request not answered yet (the shutdown deadline passed); returns how many.
  int64_t abort_in_flight(const std::string& message);
  //! Admitted requests not answered yet (their responses may still be being written after that).
  int64_t unanswered();

  void reply(const api::CallPtr& call, int status, std::string body, std::string_view content_type) override;
  void reply_error(const api::CallPtr& call, const api::ApiError& error) override;

 private:
  void dispatch(const api::CallPtr& call, Request&& req);
  //! The route of a request once its key, role and the server state allow it (ApiError otherwise); nullptr for a
  //! CORS preflight.
  const api::Route* admit(api::Call& call, const Request& req, api::KeyMatch* key_out = nullptr) const;
  //! Runs `f`, turning whatever it throws into an error response.
  void guarded(const api::CallPtr& call, const std::function<void()>& f);
  //! A call from a header alone (request id, path, method, origin, dialect), for answers outside a handler.
  api::CallPtr call_for_header(const Request* header) const;
  Response error_response(const api::Call& call, int status, const api::ApiError& e) const;
  void add_common_headers(Response& res, const api::Call& call) const;
  void log_request(const api::Call& call, int status, double total_ms) const;

  const ServerOptions& options_;
  api::KeyRing keys_;
  Metrics& metrics_;
  ConcurrencyLimiter& limiter_;
  TrustedProxies trusted_proxies_;
  RateLimiter rate_limiter_;
  ByteBudget& responses_;
  boost::asio::thread_pool work_;  // the tokenization workers (before env_, which refers to it)
  api::ApiEnv env_;
  api::RouteTable routes_;
  std::mutex in_flight_mu_;
  std::unordered_map<const api::Call*, std::weak_ptr<api::Call>> in_flight_;  // calls holding a slot
};

}  // namespace qembed::server
