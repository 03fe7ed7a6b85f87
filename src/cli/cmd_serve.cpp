// qembed serve: flags (each also read from QEMBED_<NAME>, upper-case, dashes -> underscores; a flag on the command
// line wins over its variable) into ServerOptions (the service's options and the HTTP front's), then the server runs
// until SIGTERM/SIGINT.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "common/error.hpp"
#include "server/server.hpp"
#include "service/embedding_rules.hpp"
#include "service/redis_cache.hpp"

namespace qembed::cli {

namespace {

std::vector<FlagSpec> serve_flags() {
  return {
      {"model", true, "the embedding model: GGUF file or HuggingFace folder (required unless --reranker-model)"},
      {"reranker-model", true,
       "also (or only) serve a Qwen3-Reranker, GGUF file or HuggingFace folder, on POST /v1/rerank and /rerank; it "
       "has its own batcher with the same batching flags"},
      {"reranker-served-name", true, "the reranker's id clients send and see (default: its file or folder name)"},
      {"reranker-threads", true, "the reranker's compute threads (default: the same as --threads)"},
      {"host", true, "address to listen on (default 127.0.0.1; 0.0.0.0 for all interfaces)"},
      {"port", true, "TCP port (default 8080; 0 picks a free one, printed at start-up)"},
      {"metrics-port", true, "also serve GET /metrics, without API keys, on this port (default: none)"},
      {"prometheus-port", true, "the same as --metrics-port (TEI's name)"},
      {"served-model-name", true, "the model id clients send and see (default: the model file or folder name)"},
      {"api-key", true,
       "KEY[:ROLE]: require Authorization: Bearer KEY; ROLE admin (default), embed or search (repeatable; "
       "comma-separated in env)"},
      {"api-key-file", true, "a file with one KEY[:ROLE] per line (# comments)"},
      {"threads", true, "compute threads (default: all cores)"},
      {"io-threads", true, "HTTP event-loop threads (default 1)"},
      {"tokenization-workers", true, "threads that parse, tokenize and format model requests (default 2)"},
      {"max-batch-tokens", true, "tokens per forward batch (default 16384)"},
      {"max-batch-requests", true, "inputs per forward batch (default: no limit)"},
      {"max-concurrent-requests", true, "requests in progress before answering 429 (default 512)"},
      {"max-client-batch-size", true, "inputs per request before answering 413 (default 2048)"},
      {"payload-limit", true, "request body bytes before answering 413 (default 2000000)"},
      {"max-connections", true,
       "open HTTP connections; past it new ones get 503 and are closed (default 4096, or fewer to fit the file "
       "descriptor limit)"},
      {"max-response-buffer-mb", true,
       "MiB of responses being formatted or written; a request reserves its worst case first: 429 when full, 413 "
       "when it could never fit (default 256)"},
      {"body-timeout", true, "seconds a request body may take to arrive after its header before 408 (default 30)"},
      {"max-input-tokens", true, "tokens per input, EOS included (default: the model's context)"},
      {"max-queue-tokens", true, "tokens admitted and not yet computed before 429 (default 16 x max-batch-tokens)"},
      {"max-queue-work", true,
       "work admitted and not yet computed before 429, in token-equivalents: a long input weighs more than its "
       "tokens, attention being quadratic (default: max-queue-tokens, and room for one input of any valid length)"},
      {"interactive-max-tokens", true,
       "requests of at most this many tokens (queries) never wait behind bulk work; 0: one class (default 128)"},
      {"max-step-ms", true,
       "bulk batches run in steps of about this long, so interactive work waits at most about one (default 100; "
       "0: a whole layer per step)"},
      {"max-batch-ms", true,
       "a bulk batch holds about this much work at the measured speed, capped by --max-batch-tokens (default "
       "2000; 0: tokens only)"},
      {"auto-truncate", false, "truncate inputs over the limit unless a request says otherwise"},
      {"default-prompt-name", true, "prompt for requests that name none: query, document or a --prompt name"},
      {"prompt", true, "NAME=TEXT: a named prompt, TEXT prepended verbatim (repeatable; comma-separated in env)"},
      {"cors-origin", true, "allowed browser origin, or * (default: no CORS headers)"},
      {"log-format", true, "text or json: one line per request on stderr (default text)"},
      {"shutdown-timeout", true, "seconds SIGTERM waits for requests in flight (default 30)"},
      {"prefix-cache-mb", true,
       "MiB of prompt keys/values kept so queries skip their instruction (default 256; 0: off)"},
      {"cache-mb", true,
       "MiB of computed embeddings kept in process, so repeated texts are answered without computing (default "
       "256; 0: off)"},
      {"cache-redis", true,
       "redis://[:password@]host[:port][/db] or unix:///path: a second cache level shared by replicas (default: "
       "none)"},
      {"cache-redis-ttl-s", true, "seconds a vector written to Redis lives (default 86400)"},
      {"cache-redis-prefix", true, "prefix of this server's Redis keys (default qembed:)"},
      {"cache-redis-timeout-ms", true,
       "bound of one Redis lookup; slower is a miss and the vector is computed (default 20)"},
      {"request-rate-limit", true,
       "requests per second per client (its API key, else its address), on this server; past it 429 (default: off)"},
      {"request-rate-burst", true, "requests a client may send at once (default: one second's worth, at least 1)"},
      {"token-rate-limit", true, "input tokens per second per client, on this server; past it 429 (default: off)"},
      {"token-rate-burst", true,
       "input tokens a client may send at once; a larger request gets 413 (default: one second's worth)"},
      {"trusted-proxy", true,
       "ADDR or ADDR/BITS of a proxy whose X-Forwarded-For names the client (repeatable; comma-separated in env)"},
      {"kb", true,
       "knowledge base: a SQLite file (created when missing) served under /v1/kb/ (collections, uploads, search); "
       "vector indexes are kept beside it"},
      {"max-upload-mb", true, "knowledge base: MiB of one uploaded file; past it that file fails (413) (default 256)"},
      {"max-upload-files", true, "knowledge base: files in one upload request (default 100)"},
      {"help", false, "show this help"},
  };
}

std::string env_name(const std::string& flag) {
  std::string s = "QEMBED_";
  for (char c : flag) s += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool on_command_line(const std::string& flag, int argc, char** argv) {
  const std::string a = "--" + flag;
  for (int i = 2; i < argc; ++i) {
    if (argv[i] == a || std::strncmp(argv[i], (a + "=").c_str(), a.size() + 1) == 0) return true;
  }
  return false;
}

//! Splits "a=x,b=y, z" into {"a=x", "b=y, z"}: a comma starts a new prompt only when NAME= follows it, so
//! prompt texts may contain commas.
std::vector<std::string> split_prompts(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    bool cut = i == s.size();
    if (!cut && s[i] == ',') {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '-')) ++j;
      cut = j > i + 1 && j < s.size() && s[j] == '=';
    }
    if (cut) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

//! argv with the QEMBED_* variables of the flags not on the command line put first.
std::vector<std::string> args_with_env(const std::vector<FlagSpec>& specs, int argc, char** argv) {
  std::vector<std::string> out = {argv[0], argv[1]};
  for (const FlagSpec& f : specs) {
    if (f.name == "help" || on_command_line(f.name, argc, argv)) continue;
    const char* v = std::getenv(env_name(f.name).c_str());
    if (!v) continue;
    std::string value = v;
    if (!f.takes_value) {
      if (value == "1" || value == "true" || value == "TRUE" || value == "yes")
        out.push_back("--" + f.name);
      else if (!value.empty() && value != "0" && value != "false" && value != "FALSE" && value != "no") {
        throw Error(env_name(f.name) + " must be true or false, got \"" + value + "\"");
      }
    } else if (f.name == "prompt") {
      for (const std::string& p : split_prompts(value)) out.push_back("--prompt=" + p);
    } else if (f.name == "api-key" || f.name == "trusted-proxy") {
      size_t start = 0;
      for (size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || value[i] == ',') {
          if (i > start) out.push_back("--" + f.name + "=" + value.substr(start, i - start));
          start = i + 1;
        }
      }
    } else {
      out.push_back("--" + f.name + "=" + value);
    }
  }
  for (int i = 2; i < argc; ++i) out.emplace_back(argv[i]);
  return out;
}

//! A rate or burst flag: a finite number >= `lo`; 0 when absent.
double get_rate(const Args& args, const std::string& name, double lo) {
  const std::optional<std::string> v = args.get(name);
  if (!v) return 0;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || !std::isfinite(x) || x < lo || x > 1e12) {
    throw Error("--" + name + " expects a number of at least " + std::to_string(static_cast<int>(lo)) + ", got \"" +
                *v + "\"");
  }
  return x;
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  const auto specs = serve_flags();
  std::vector<std::string> storage = args_with_env(specs, argc, argv);
  std::vector<char*> cargv;
  for (auto& s : storage) cargv.push_back(s.data());
  Args args(specs, static_cast<int>(cargv.size()), cargv.data(), 2);
  if (args.has("help")) {
    std::printf(
        "usage: qembed serve --model M [--reranker-model R] [flags]\n%s\nEvery flag also reads QEMBED_<NAME> (e.g. "
        "QEMBED_MAX_BATCH_TOKENS); the command line wins.\n",
        flags_help(specs).c_str());
    return 0;
  }
  server::ServerOptions o;
  service::ServiceOptions& so = o.service;
  o.model_path = args.get_or("model", "");
  o.reranker_model_path = args.get_or("reranker-model", "");
  if (o.model_path.empty() && o.reranker_model_path.empty()) {
    throw Error("give --model M (an embedding model), --reranker-model R (a Qwen3-Reranker), or both");
  }
  if (o.reranker_model_path.empty() && (args.has("reranker-served-name") || args.has("reranker-threads"))) {
    throw Error("--reranker-served-name and --reranker-threads need --reranker-model R");
  }
  o.host = args.get_or("host", o.host);
  o.port = static_cast<int>(args.get_int("port", o.port, 0, 65535));
  if (args.has("metrics-port") && args.has("prometheus-port") &&
      args.get("metrics-port") != args.get("prometheus-port")) {
    throw Error("--metrics-port and --prometheus-port name the same listener; give one of them");
  }
  o.metrics_port =
      static_cast<int>(args.get_int(args.has("metrics-port") ? "metrics-port" : "prometheus-port", -1, 0, 65535));
  so.served_name = args.get_or("served-model-name", "");
  o.api_keys = args.get_all("api-key");
  o.api_key_file = args.get_or("api-key-file", "");
  so.backend.n_threads = static_cast<int>(args.get_int("threads", 0, 1, 1024));
  o.io_threads = static_cast<int>(args.get_int("io-threads", 1, 1, 64));
  o.tokenization_workers = static_cast<int>(args.get_int("tokenization-workers", o.tokenization_workers, 1, 256));
  so.max_batch_tokens = args.get_int("max-batch-tokens", so.max_batch_tokens, 16, 1 << 22);
  so.max_batch_inputs = args.get_int("max-batch-requests", 0, 1, 1 << 20);
  o.max_concurrent_requests = args.get_int("max-concurrent-requests", o.max_concurrent_requests, 1, 1 << 20);
  o.max_client_batch_size = args.get_int("max-client-batch-size", o.max_client_batch_size, 1, 1 << 20);
  o.payload_limit_bytes = args.get_int("payload-limit", o.payload_limit_bytes, 1024, int64_t{1} << 32);
  o.max_connections = args.get_int("max-connections", 0, 1, 1 << 20);  // 0: derived from the descriptor limit
  o.max_response_buffer_bytes = args.get_int("max-response-buffer-mb", o.max_response_buffer_bytes >> 20, 1, 1 << 20)
                                << 20;
  o.body_timeout_s = args.get_int("body-timeout", o.body_timeout_s, 1, 3600);
  so.max_input_tokens = args.get_int("max-input-tokens", 0, 2, 1 << 22);
  so.max_queue_tokens = args.get_int("max-queue-tokens", 0, 16, int64_t{1} << 32);
  so.max_queue_work = args.get_int("max-queue-work", 0, 16, int64_t{1} << 40);
  so.interactive_max_tokens = args.get_int("interactive-max-tokens", so.interactive_max_tokens, 0, 1 << 22);
  so.max_step_ms = static_cast<double>(args.get_int("max-step-ms", static_cast<int64_t>(so.max_step_ms), 0, 600000));
  so.max_batch_ms =
      static_cast<double>(args.get_int("max-batch-ms", static_cast<int64_t>(so.max_batch_ms), 0, 3600000));
  // Queued inputs: room for a few full client batches, never fewer than 8192.
  so.max_queue_inputs = std::max<int64_t>(4 * o.max_client_batch_size, 8192);
  o.auto_truncate = args.has("auto-truncate");
  so.default_prompt_name = args.get_or("default-prompt-name", "");
  for (const std::string& p : args.get_all("prompt")) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--prompt expects NAME=TEXT, got \"" + p + "\"");
    so.prompts[p.substr(0, eq)] = p.substr(eq + 1);
  }
  // The service's own rule, applied now so that a typo fails before the model is loaded.
  try {
    service::resolve_prompt(std::nullopt, std::nullopt, so.default_prompt_name, so.prompts);
  } catch (const Error& e) {
    throw Error(std::string("--default-prompt-name: ") + e.what());
  }
  o.cors_origin = args.get_or("cors-origin", "");
  o.log_format = args.get_or("log-format", "text");
  if (o.log_format != "text" && o.log_format != "json") {
    throw Error("--log-format must be text or json, got \"" + o.log_format + "\"");
  }
  o.shutdown_timeout_s = static_cast<double>(args.get_int("shutdown-timeout", 30, 0, 3600));
  so.prefix_cache_bytes = args.get_int("prefix-cache-mb", 256, 0, 1 << 20) << 20;
  // 256 MiB holds ~60,000 vectors of 1,024 dims (~250,000 of the tiny shapes): a hot query set many times over, at
  // a fraction of the 0.6B model's own footprint, and counted in the memory bound printed at start-up.
  so.cache_bytes = args.get_int("cache-mb", 256, 0, 1 << 20) << 20;
  so.cache_redis.url = args.get_or("cache-redis", "");
  so.cache_redis.ttl_s = args.get_int("cache-redis-ttl-s", so.cache_redis.ttl_s, 1, int64_t{1} << 31);
  so.cache_redis.prefix = args.get_or("cache-redis-prefix", so.cache_redis.prefix);
  so.cache_redis.timeout_ms = args.get_int("cache-redis-timeout-ms", so.cache_redis.timeout_ms, 1, 60000);
  if (so.cache_redis.url.empty() &&
      (args.has("cache-redis-ttl-s") || args.has("cache-redis-prefix") || args.has("cache-redis-timeout-ms"))) {
    throw Error("--cache-redis-ttl-s, --cache-redis-prefix and --cache-redis-timeout-ms need --cache-redis URL");
  }
  if (!so.cache_redis.url.empty()) service::RedisAddress::parse(so.cache_redis.url);  // a typo fails before loading
  o.request_rate_limit = get_rate(args, "request-rate-limit", 0);
  o.request_rate_burst = get_rate(args, "request-rate-burst", 1);
  o.token_rate_limit = get_rate(args, "token-rate-limit", 0);
  o.token_rate_burst = get_rate(args, "token-rate-burst", 1);
  if (args.has("request-rate-burst") && o.request_rate_limit == 0) {
    throw Error("--request-rate-burst needs --request-rate-limit");
  }
  if (args.has("token-rate-burst") && o.token_rate_limit == 0) {
    throw Error("--token-rate-burst needs --token-rate-limit");
  }
  o.trusted_proxies = args.get_all("trusted-proxy");
  o.kb_path = args.get_or("kb", "");
  o.max_upload_bytes = args.get_int("max-upload-mb", o.max_upload_bytes >> 20, 1, 1 << 20) << 20;
  o.max_upload_files = args.get_int("max-upload-files", o.max_upload_files, 1, 100000);
  if (o.kb_path.empty() && (args.has("max-upload-mb") || args.has("max-upload-files"))) {
    throw Error("--max-upload-mb and --max-upload-files need --kb PATH");
  }
  if (!o.reranker_model_path.empty()) {
    if (!o.kb_path.empty() && o.model_path.empty()) {
      throw Error("--kb needs an embedding model (--model M); --reranker-model alone only reranks");
    }
    // The reranker batches and queues under the same flags as the embedder; prompts are the embedder's alone.
    service::ServiceOptions& rr = o.reranker_service;
    rr = so;
    rr.reranker = true;
    rr.default_prompt_name.clear();
    rr.prompts.clear();
    rr.served_name = args.get_or("reranker-served-name", "");
    rr.backend.n_threads = static_cast<int>(args.get_int("reranker-threads", so.backend.n_threads, 1, 1024));
  }
  return server::run_server(o);
}

}  // namespace qembed::cli
