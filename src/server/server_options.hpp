#pragma once
// Everything `qembed serve` is configured with: network, limits that bound memory and latency, prompts, logging.
// Filled from flags / QEMBED_* environment variables by the CLI; read-only once the server runs.
#include <cstdint>
#include <map>
#include <string>

namespace qembed::server {

struct ServerOptions {
  std::string model_path;  //!< GGUF file or HuggingFace folder
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string served_model_name;               //!< "" -> the model's name
  std::string api_key;                         //!< "" -> no authentication
  int n_threads = 0;                           //!< compute threads; 0: all cores
  int io_threads = 1;                          //!< HTTP event-loop threads (also parse + tokenize)
  int64_t max_batch_tokens = 16384;            //!< tokens per forward batch (one longer input runs alone)
  int64_t max_batch_requests = 0;              //!< inputs per forward batch; 0: no limit
  int64_t max_concurrent_requests = 512;       //!< requests in progress; past it -> 429 at once
  int64_t max_client_batch_size = 2048;        //!< inputs per request; past it -> 413
  int64_t payload_limit_bytes = 2'000'000;     //!< request body bytes; past it -> 413
  int64_t max_connections = 4096;              //!< open HTTP connections; past it -> 503 and closed at once
  int64_t max_input_tokens = 0;                //!< per input, EOS included; 0: the model's context
  int64_t max_queue_tokens = 0;                //!< tokens admitted but not computed; 0: 8 x max_batch_tokens
  bool auto_truncate = false;                  //!< default of a request's `truncate`
  std::string default_prompt_name;             //!< prompt applied when a request names none ("" -> none)
  std::map<std::string, std::string> prompts;  //!< name -> task text (in addition to query/document)
  std::string cors_origin;                     //!< "" -> no CORS headers
  std::string log_format = "text";             //!< "text" | "json"
  double shutdown_timeout_s = 30;              //!< how long SIGTERM waits for in-flight requests
  int64_t keep_alive_timeout_s = 60;           //!< idle keep-alive connections are closed after this
  int64_t prefix_cache_mb = 256;               //!< K/V of request prompts kept for reuse; 0 disables
};

}  // namespace qembed::server
