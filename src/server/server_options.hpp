#pragma once
// Everything `qembed serve` is configured with: the service (batching, queue bounds, prompts, prefix cache, model
// id, compute threads) and the HTTP front (network, keys, limits of the edge, logging). Filled from flags /
// QEMBED_* environment variables by the CLI; read-only once the server runs.
#include <cstdint>
#include <string>
#include <vector>

#include "service/embedding_service.hpp"

namespace qembed::server {

struct ServerOptions {
  std::string model_path;           //!< the embedding model: GGUF file or HuggingFace folder; "" -> none
  service::ServiceOptions service;  //!< what the embedding service is built with
  //! --reranker-model: a Qwen3-Reranker served by a second service (its own batcher and engine); "" -> none. At
  //! least one of model_path and reranker_model_path is set.
  std::string reranker_model_path;
  service::ServiceOptions reranker_service;  //!< the reranker's: `service`'s batching and limits, reranker = true
  std::string host = "127.0.0.1";            //!< address or name to listen on
  int port = 8080;                           //!< 0: a free port
  int metrics_port = -1;                     //!< Prometheus-only listener without keys; -1: none; 0: a free port
  std::vector<std::string> api_keys;         //!< KEY[:ROLE] each; none (and no key file): no authentication
  std::string api_key_file;                  //!< one KEY[:ROLE] per line; "" -> none
  int io_threads = 1;                        //!< HTTP event-loop threads (HTTP only)
  int tokenization_workers = 2;              //!< threads that parse, tokenize and format model requests
  int64_t max_concurrent_requests = 512;     //!< requests in progress; past it -> 429 at once
  int64_t max_client_batch_size = 2048;      //!< inputs per request; past it -> 413
  int64_t payload_limit_bytes = 2'000'000;   //!< request body bytes; past it -> 413
  int64_t max_connections = 0;               //!< open HTTP connections (0: 4096 or what the descriptor limit fits)
  int64_t max_response_buffer_bytes = int64_t{256} << 20;  //!< responses being formatted or written
  int64_t body_timeout_s = 30;                             //!< a request body must arrive within this (else 408)
  bool auto_truncate = false;                              //!< default of a request's `truncate`
  std::string cors_origin;                                 //!< "" -> no CORS headers
  std::string log_format = "text";                         //!< "text" | "json"
  double shutdown_timeout_s = 30;                          //!< how long SIGTERM waits for in-flight requests
  int64_t keep_alive_timeout_s = 60;                       //!< idle keep-alive connections are closed after this
  // Per-client rate limits (rate_limit.hpp): a client is its API key when keys are configured, else its address.
  double request_rate_limit = 0;             //!< requests per second per client; 0: off
  double request_rate_burst = 0;             //!< requests at once; 0: one second's worth (at least 1)
  double token_rate_limit = 0;               //!< input tokens per second per client; 0: off
  double token_rate_burst = 0;               //!< tokens at once; 0: one second's worth (at least 1)
  std::vector<std::string> trusted_proxies;  //!< ADDR or ADDR/BITS whose X-Forwarded-For names the client
  // Knowledge base (--kb): its REST API under /v1/kb/ (docs/kb.md, "REST API").
  std::string kb_path;                            //!< the SQLite file; "" -> no knowledge base
  int64_t max_upload_bytes = int64_t{256} << 20;  //!< one uploaded file; past it that file fails (413)
  int64_t max_upload_files = 100;                 //!< files in one upload; past it the upload is refused (413)
  int64_t max_uploads_at_once = 4;                //!< uploads being received or registered at once; past it 429
};

}  // namespace qembed::server
