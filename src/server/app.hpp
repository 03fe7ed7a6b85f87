#pragma once
// The API behind the HTTP layer: authentication, admission (--max-concurrent-requests), routing to the OpenAI,
// TEI and Ollama endpoints, error bodies, metrics and one log line per request. handle() never throws: every
// failure becomes an HTTP response.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/embedder.hpp"
#include "model/model.hpp"
#include "server/api_types.hpp"
#include "server/http_server.hpp"
#include "server/metrics.hpp"
#include "server/scheduler.hpp"
#include "server/server_options.hpp"

namespace qembed::server {

enum class ServerState { kLoading, kReady, kStopping };

//! Everything known about one request while it is served; shared with the worker's completion callback.
struct RequestContext {
  uint64_t id = 0;
  std::string method, path, endpoint;  //!< endpoint: the metrics label (the route, or "other")
  Clock::time_point received_at;
  int64_t n_inputs = 0, n_tokens = 0;
  double tokenize_ms = 0, queue_ms = 0, compute_ms = 0;
  bool counted_in_flight = false;  //!< holds a --max-concurrent-requests slot
  std::string origin;              //!< the request's Origin header (CORS)
  std::shared_ptr<Exchange> exchange;
};
using Ctx = std::shared_ptr<RequestContext>;

class App {
 public:
  App(const ServerOptions& options, Metrics& metrics, boost::asio::io_context& io);

  //! Publishes the loaded model: from now on the model endpoints answer.
  void set_ready(const Model& model, Scheduler& scheduler, std::string served_name, double load_s);
  void set_stopping() { state_ = ServerState::kStopping; }
  ServerState state() const { return state_.load(); }

  //! The HttpServer handler.
  void handle(Request&& req, std::shared_ptr<Exchange> ex);
  //! A response for a request the HTTP layer rejected itself (bad HTTP, body too large).
  Response reject(int status, const std::string& message);

 private:
  void route(const Ctx& ctx, Request& req);
  // Endpoints (embed_endpoints.cpp and info_endpoints.cpp).
  enum class Api { kOpenAI, kTEI, kOllama };
  void embed(const Ctx& ctx, const nlohmann::json& body, Api api);
  EmbedRequest parse_embed(const nlohmann::json& body, Api api) const;
  std::string prompt_prefix(const std::optional<std::string>& prompt_name,
                            const std::optional<std::string>& instruction) const;
  std::vector<std::vector<int32_t>> tokenize_inputs(const EmbedRequest& req) const;
  //! The prompt's token ids (no EOS) when its K/V should be cached for this request's inputs, else empty.
  std::vector<int32_t> prefix_ids(const EmbedRequest& req) const;
  void respond_embeddings(const Ctx& ctx, const EmbedRequest& req, Job& job, Api api);
  void tokenize(const Ctx& ctx, const nlohmann::json& body);
  nlohmann::json info() const;
  nlohmann::json models() const;
  void check_model(const nlohmann::json& body) const;

  //! Sends the response, then records metrics and logs the request (any thread).
  void finish(const Ctx& ctx, int status, std::string body, const char* content_type,
              const std::string& retry_after = "");
  void fail(const Ctx& ctx, const ApiError& e);

  const ServerOptions& options_;
  Metrics& metrics_;
  boost::asio::io_context& io_;
  std::atomic<ServerState> state_{ServerState::kLoading};
  // Set once before state_ becomes kReady (release), read after seeing kReady (acquire).
  const Model* model_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  std::string served_name_;
  double load_s_ = 0;
  int64_t max_input_tokens_ = 0;
  std::atomic<uint64_t> next_id_{1};
  int64_t created_unix_s_ = 0;
};

}  // namespace qembed::server
