#pragma once
// The embedding service: the one path from any front end (CLI embed/tokenize/bench/rerank, the OpenAI, TEI and
// Ollama HTTP dialects, the knowledge base) to the backend. One service serves one model: an embedding model, or a
// reranker (ServiceOptions::reranker), whose requests go through the same encode/submit/batcher path with the
// reranking rules (service/rerank_rules.hpp) in place of the embedding ones. It owns every embedding rule
// once — prompt choice, text -> ids, EOS, left/right truncation, per-input limits, `dimensions`, normalization,
// finite results, the cache key — and the one batcher (service/batcher.hpp) whose worker thread owns the Engine.
//
// Flow: encode() (any thread; tokenization) -> submit() (admission against the queue bounds) -> the worker
// computes in token-budget batches, round-robin across requests -> finished vectors to the caller's callback.
// embed() is the blocking form of the same path.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend_factory.hpp"
#include "common/error.hpp"
#include "service/cache_key.hpp"
#include "service/embedding_rules.hpp"
#include "service/redis_cache.hpp"
#include "service/rerank_rules.hpp"
#include "service/service_stats.hpp"

namespace qembed {
class Model;
class Engine;
}  // namespace qembed

namespace qembed::service {

class Batcher;
class EmbeddingCache;

// TruncationSide (kRight keeps the first tokens, kLeft the last; EOS stays last) is in service/embedding_rules.hpp.

//! How one request's inputs become vectors. The same fields mean the same on every front end.
struct EmbedParams {
  std::optional<std::string> prompt_name;  //!< "query", "document" or a configured name; nullopt: the default
  std::optional<std::string> instruction;  //!< a task: "Instruct: {task}\nQuery:{text}"; exclusive with prompt_name
  bool truncate = false;                   //!< over the input limit: truncate instead of failing
  TruncationSide truncation_side = TruncationSide::kRight;
  int64_t dimensions = 0;  //!< MRL: keep the first D, then normalize; 0: all
  bool normalize = true;   //!< L2-normalize (after `dimensions`)
  //! How this front end enables truncation, quoted in over-limit errors: "--truncate" (CLI), "\"truncate\": true"
  //! (HTTP). "" -> "enable truncation".
  std::string truncate_hint;
};

//! A request's inputs: texts, or token-id arrays (never both).
struct EmbedInputs {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_ids;
  bool are_tokens = false;
  //! Index of the first input in error messages ("input 1003 ..."), for a stream cut into several requests.
  int64_t first_index = 0;
  size_t size() const { return are_tokens ? token_ids.size() : texts.size(); }
};

//! Which scheduling class a request joins (service/batcher.hpp): interactive work never waits behind bulk work.
enum class Priority {
  kAuto,         //!< interactive when its tokens are at most ServiceOptions::interactive_max_tokens
  kInteractive,  //!< someone is waiting now (a search, a rerank)
  kBulk,         //!< throughput matters, not latency (ingestion, batch jobs)
};

//! Inputs turned into model ids by encode(), ready to submit.
struct EncodedRequest {
  std::vector<std::vector<int32_t>> seqs;  //!< (n_inputs) model ids, EOS included, within the input limit
  std::vector<int32_t> prompt_ids;         //!< the prompt every text starts with (no EOS), for the prefix cache
  int64_t n_tokens = 0;                    //!< sum of the seqs' lengths
  int64_t dimensions = 0;
  bool normalize = true;
  int64_t first_index = 0;  //!< EmbedInputs::first_index: names inputs in the worker's errors
  //! When not empty, the index of each seq in errors (the misses of a request the cache answered in part);
  //! else first_index + position.
  std::vector<int64_t> input_indices;
  Priority priority = Priority::kAuto;
};

//! A finished request.
struct EmbedResult {
  std::vector<std::vector<float>> vectors;  //!< (n_inputs, dimensions or n_embd), finite
  std::vector<int64_t> n_tokens;            //!< per input, EOS included
  int64_t total_tokens = 0;
  double queue_ms = 0, compute_ms = 0;  //!< waiting for the first batch; first batch start to last batch end
};

//! What submit() did with a request.
enum class Admission {
  kQueued,    //!< will be computed; `done` will be called once
  kBusy,      //!< the queue is full right now: retry later (429)
  kTooLarge,  //!< larger than the whole queue bound (413)
  kStopping,  //!< shutting down (503)
};

//! Called once, on the worker thread: `error` is null on success; otherwise it says what failed (its kind says
//! whose fault: kLimit when the client disconnected or the service stopped, kInvalidInput for a non-finite result
//! naming the input, kInternal for a bug).
using EmbedDone = std::function<void(EmbedResult result, const Error* error)>;

struct ServiceOptions {
  BackendOptions backend;
  //! Load and serve the model as a Qwen3-Reranker (rerank requests; embed requests are refused), else as an
  //! embedding model. Never guessed: HF folders of both declare Qwen3ForCausalLM.
  bool reranker = false;
  int64_t max_batch_tokens = 16384;  //!< tokens per forward batch (a longer single input runs alone)
  int64_t max_batch_inputs = 0;      //!< inputs per forward batch; 0: no limit
  int64_t max_queue_tokens = 0;      //!< tokens admitted and not finished; 0: 16 x max_batch_tokens, at
                                     //!< least max_input_tokens (one input of any valid length is admitted)
  int64_t max_queue_inputs = 16384;  //!< inputs admitted and not finished
  //! Work admitted and not finished, in token-equivalents (engine/cost_model.hpp: a long input weighs more than
  //! its tokens); 0: max_queue_tokens.
  int64_t max_queue_work = 0;
  int64_t interactive_max_tokens = 128;  //!< requests with at most this many tokens are interactive; 0: none
  double max_step_ms = 100;      //!< bulk batches run in steps of about this long (interactive work waits at most ~1)
  double max_batch_ms = 2000;    //!< a bulk batch holds about this much work at the measured rate; 0: tokens only
  int64_t max_input_tokens = 0;  //!< per input, EOS included; 0: the model's context
  int64_t prefix_cache_bytes = int64_t{256} << 20;  //!< K/V of prompts kept for reuse; 0 disables
  std::string default_prompt_name;                  //!< applied when a request names none ("" -> none)
  std::map<std::string, std::string> prompts;       //!< name -> text prepended verbatim (besides query/document)
  std::string served_name;                          //!< the model id clients use; "" -> derived from the path
  //! Embedding cache (service/embedding_cache.hpp): bytes of pooled vectors kept in process; 0: off. Embedding
  //! services only (a reranker's scores are not cached).
  int64_t cache_bytes = 0;
  RedisCacheOptions cache_redis;  //!< the shared second level (service/redis_cache.hpp); url "" -> none
};

//! What front ends show about the model being served.
struct ModelInfo {
  std::string id;            //!< the served model id (ServiceOptions::served_name or the file/folder name)
  std::string path, format;  //!< as loaded; "gguf" | "safetensors"
  std::string dtype;         //!< the most common weight type ("Q8_0", "F16"...)
  std::string architecture;
  std::string role;  //!< "embedding" or "reranker"
  int64_t n_embd = 0, n_ctx = 0, n_vocab = 0, n_layer = 0;
  int64_t max_input_tokens = 0;  //!< the per-input limit in force
  uint64_t file_bytes = 0;
  std::string fingerprint;  //!< model_fingerprint() as hex (service/model_fingerprint.hpp)
  BackendInfo backend;
  //! The backend's memory for one batch of max(max_batch_tokens, max_input_tokens) tokens (start-up bound).
  MemoryPlan memory;
  // The rest of the shape, for `qembed info` and the APIs' model descriptions.
  std::string name;  //!< general.name (GGUF) or the folder name
  int64_t n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  double rope_theta = 0, rms_eps = 0;
  int64_t n_params = 0;          //!< weights in the model (embedding, layers, norms)
  int64_t tokenizer_tokens = 0;  //!< ids the tokenizer knows (may differ from n_vocab rows)
  int32_t eos_id = 0;
  bool appends_eos = true;                  //!< every input ends in EOS (last-token pooling)
  std::map<std::string, int> tensor_types;  //!< ggml type name -> number of tensors
};

//! How one rerank request's documents are scored against its query. The same on every front end.
struct RerankParams {
  std::optional<std::string> instruction;  //!< the task; nullopt: kDefaultRerankInstruction
  //! A document too long for the input limit with the query and template: cut its end instead of failing.
  bool truncate = true;
  //! Per document, template and query included; 0 or above the service's limit: the service's max_input_tokens.
  int64_t max_tokens = 0;
  std::string truncate_hint;  //!< as EmbedParams::truncate_hint, quoted in over-limit errors
  //! Index of the first document in error messages ("document 1003 ..."), for a stream cut into several requests.
  int64_t first_index = 0;
};

//! A rerank request encoded for submit(): one sequence per document, sharing the prompt and query tokens (the
//! request's prompt_ids, computed once through the prefix cache).
struct RerankRequest {
  EncodedRequest encoded;
  std::vector<bool> truncated;  //!< (n_documents) the document's end was cut to fit
};

//! Leading ids every sequence shares, at most one short of the shortest (its last token must be computed): the
//! prompt_ids that let a rerank request's documents compute the template and query once.
std::vector<int32_t> common_prefix(const std::vector<std::vector<int32_t>>& seqs);

//! A finished rerank request, documents in request order (front ends sort).
struct RerankResult {
  std::vector<RankScore> scores;  //!< (n_documents)
  std::vector<int64_t> n_tokens;  //!< per document, template and query included
  std::vector<bool> truncated;
  int64_t total_tokens = 0;
  double queue_ms = 0, compute_ms = 0;
};

//! One input as the model sees it, for /tokenize and `qembed tokenize`.
struct TokenPiece {
  int32_t id = 0;
  std::string text;  //!< the token's bytes (may be a partial UTF-8 sequence)
  bool special = false;
  size_t start = 0, stop = 0;  //!< byte offsets into the text the tokenizer saw (prompt included)
};
struct TokenizedInput {
  std::string text;  //!< what the tokenizer saw: prompt + input
  std::vector<TokenPiece> pieces;
};

class EmbeddingService {
 public:
  //! Checks the options (Error naming the option), prepares the backend, starts the batcher's worker.
  EmbeddingService(std::unique_ptr<Model> model, const ServiceOptions& options);
  //! Loads the model at `model_path` (a GGUF file or a HuggingFace folder; Error naming the file and what is
  //! wrong), then constructs the service on it: for front ends that may not see model/ (the CLI).
  static std::unique_ptr<EmbeddingService> load(const std::string& model_path, const ServiceOptions& options);
  //! Stops the worker after finishing what was admitted.
  ~EmbeddingService();

  const ModelInfo& model_info() const { return info_; }
  const ServiceOptions& options() const { return options_; }
  //! Live counters for /metrics (updated by the worker and by submit()).
  const ServiceStats& stats() const { return *stats_; }
  //! The same, to set stats().on_batch: before the first submit() (the worker reads it after each batch).
  ServiceStats& stats() { return *stats_; }

  //! Checks params (dimensions range, prompt names) and inputs (empty text, ids outside the vocabulary, over the
  //! limit without `truncate`), tokenizes, applies prompt, EOS and truncation. Messages use neutral words that
  //! read right on every front end and name inputs as "input N" (N counted from EmbedInputs::first_index; an HTTP
  //! dialect may rewrite the leading "input N" to its own path, "input[N]"): "input N is an empty string",
  //! "input N is an empty token array", "input N has token id X, outside the vocabulary [0, V)", "input N: <why
  //! the tokenizer refused it>", "dimensions D is out of range: this model supports 32 to E", the prompt errors of
  //! resolve_prompt(), "the request has no inputs" — all kInvalidInput — and, kLimit, "input N has T tokens, the
  //! limit is L (use <EmbedParams::truncate_hint> to keep the first L)".
  EncodedRequest encode(const EmbedInputs& inputs, const EmbedParams& params) const;
  //! The prompt text a params selects ("" for none); Error for an unknown name or both fields set.
  std::string prompt_text(const EmbedParams& params) const;

  //! Queues an encoded request. `cancelled` (optional) is polled before each batch: once set, the request's
  //! remaining inputs are dropped and `done` gets a kLimit error. Stopping still finishes admitted requests; a front
  //! end that must answer sooner sets their `cancelled`, and they end at the next batch boundary.
  //! With the embedding cache, inputs found there are finished from it and only the others are queued; a request
  //! found whole completes at once, `done` called on this thread (see docs/server.md, "Cache").
  Admission submit(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled = nullptr);
  //! The work of a request in token-equivalents (engine/cost_model.hpp), as admission counts it against
  //! ServiceOptions::max_queue_work.
  double work_of(const EncodedRequest& request) const;
  //! When a request of `work` refused as busy would fit the work bound: the admitted work over the bound at the
  //! measured compute rate, in seconds (the token and input bounds free up at least as fast for ordinary inputs);
  //! 0 when no rate is measured yet or it would fit now.
  double seconds_until_room(double work) const;
  //! encode + submit + wait. Throws Error: the encode errors, kLimit when not admitted (busy, too large, stopping),
  //! and what `done` would have received.
  EmbedResult embed(const EmbedInputs& inputs, const EmbedParams& params);
  //! submit + wait for an already encoded request (e.g. `qembed bench`, which times only the computation).
  EmbedResult embed(EncodedRequest request);

  //! Reranking (a service loaded with ServiceOptions::reranker). Errors, kInvalidInput unless said: "the model
  //! 'ID' is an embedding model, not a reranker", "the query is empty", "the request has no documents", "document
  //! N is an empty string", "document N: <why the tokenizer refused it>", "the instruction is empty", "the query
  //! and instruction take T tokens with the template; the limit of L leaves no room for a document" and, kLimit
  //! without `truncate`, "document N has T tokens with the query and template, the limit is L (use <hint> to cut
  //! the document's end)".
  RerankRequest encode_rerank(const std::string& query, const std::vector<std::string>& documents,
                              const RerankParams& params) const;
  //! encode_rerank + submit + wait; throws what embed() throws.
  RerankResult rerank(const std::string& query, const std::vector<std::string>& documents, const RerankParams& params);
  //! A finished rerank request's result from what `done` received (a vector [yes, no] per document).
  static RerankResult rerank_result(EmbedResult result, std::vector<bool> truncated);

  //! The ids and pieces the model sees for each text (prompt applied; EOS appended when add_special).
  std::vector<TokenizedInput> tokenize(const std::vector<std::string>& texts, const EmbedParams& params,
                                       bool add_special = true) const;

  //! The cache key of a sequence's pooled vector (before dimensions/normalization): every front end that asks
  //! for the same ids on the same model and numeric path gets the same key.
  CacheKey cache_key(const std::vector<int32_t>& ids) const;

  //! Makes sure a prompt's K/V are cached now (CLI: before streaming a file); no-op without a prompt.
  void warm_prompt(const EmbedParams& params);
  //! Finishes everything admitted, then stops the worker; later submits answer kStopping.
  void stop();

 private:
  std::unique_ptr<Model> model_;
  ServiceOptions options_;
  ModelInfo info_;
  std::unique_ptr<ServiceStats> stats_;
  std::unique_ptr<EmbeddingCache> cache_;  // null: no local level
  std::unique_ptr<RedisCache> redis_;      // null: no shared level
  std::unique_ptr<Batcher> batcher_;       // owns the Engine on its worker thread; after the caches (it calls them)

  //! submit() through the cache levels (service/embedding_service_cache.cpp).
  Admission submit_cached(EncodedRequest request, EmbedDone done, std::shared_ptr<std::atomic<bool>> cancelled);
  //! The batcher's insert of one computed pooled vector.
  void remember_pooled(std::span<const int32_t> ids, std::span<const float> pooled);
};

}  // namespace qembed::service
