#include "service/embedding_service.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "model/model.hpp"
#include "service/batcher.hpp"
#include "service/embedding_cache.hpp"
#include "service/model_fingerprint.hpp"

namespace qembed::service {

namespace {

//! The served id from a model path: a file's name without its extension, a folder's name.
std::string id_from_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::error_code ec;
  const bool dir = fs::is_directory(p, ec);
  const fs::path fp(p);
  std::string id = (dir ? fp.filename() : fp.stem()).string();
  return id.empty() ? p : id;
}

//! An f32 hyper-parameter as the double with the same shortest decimal form (1e-06, not 9.99999997e-07).
double shortest_double(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}

int64_t parameter_count(const Qwen3Config& c) {
  const int64_t per_layer = c.n_embd * c.q_dim() + 2 * c.n_embd * c.kv_dim() + c.q_dim() * c.n_embd +
                            3 * c.n_embd * c.n_ff + 2 * c.n_embd + 2 * c.head_dim;
  return c.n_vocab * c.n_embd + c.n_layer * per_layer + c.n_embd;
}

void check_option(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace

EmbeddingService::EmbeddingService(std::unique_ptr<Model> model, const ServiceOptions& options)
    : model_(std::move(model)), options_(options), stats_(std::make_unique<ServiceStats>()) {
  if (!model_) throw InternalError("embedding service: no model");
  if ((model_->role == ModelRole::kReranker) != options.reranker) {
    throw InternalError(std::string("embedding service: a model loaded as ") + model_role_name(model_->role) +
                        " served with reranker = " + (options.reranker ? "true" : "false"));
  }
  const Qwen3Config& c = model_->config;
  ServiceOptions& o = options_;
  check_option(o.max_batch_tokens >= 1,
               "max_batch_tokens must be at least 1, got " + std::to_string(o.max_batch_tokens));
  check_option(o.max_batch_inputs >= 0, "max_batch_inputs must not be negative");
  check_option(o.max_queue_inputs >= 1, "max_queue_inputs must be at least 1");
  check_option(o.max_queue_tokens >= 0, "max_queue_tokens must not be negative");
  check_option(o.max_queue_work >= 0, "max_queue_work must not be negative");
  check_option(o.interactive_max_tokens >= 0, "interactive_max_tokens must not be negative");
  check_option(o.max_step_ms >= 0 && o.max_batch_ms >= 0, "max_step_ms and max_batch_ms must not be negative");
  check_option(o.prefix_cache_bytes >= 0, "prefix_cache_bytes must not be negative");
  check_option(o.cache_bytes >= 0, "cache_bytes must not be negative");
  check_option(o.max_input_tokens >= 0 && o.max_input_tokens <= c.n_ctx,
               "max_input_tokens " + std::to_string(o.max_input_tokens) + " is out of range: this model's context is " +
                   std::to_string(c.n_ctx) + " tokens");
  if (o.max_input_tokens == 0) o.max_input_tokens = c.n_ctx;
  if (o.max_queue_tokens == 0) o.max_queue_tokens = std::max(16 * o.max_batch_tokens, o.max_input_tokens);
  // Work: by default as much as the token bound of short inputs, and always room for one input of any valid length.
  const CostModel cost(c);
  if (o.max_queue_work == 0) {
    o.max_queue_work = std::max(o.max_queue_tokens, static_cast<int64_t>(std::ceil(cost.sequence(o.max_input_tokens))));
  }
  for (const auto& [name, text] : o.prompts) check_option(!name.empty(), "a configured prompt has an empty name");
  try {
    resolve_prompt(std::nullopt, std::nullopt, o.default_prompt_name, o.prompts);
  } catch (const Error& e) {
    throw Error(std::string("default prompt name: ") + e.what());
  }

  info_.id = o.served_name.empty() ? id_from_path(model_->path) : o.served_name;
  info_.path = model_->path;
  info_.format = model_->format;
  for (const auto& [type, n] : model_->tensor_type_counts) {
    if (info_.dtype.empty() || n > model_->tensor_type_counts.at(info_.dtype)) info_.dtype = type;
  }
  info_.architecture = model_->architecture;
  info_.role = model_role_name(model_->role);
  info_.n_embd = c.n_embd;
  info_.n_ctx = c.n_ctx;
  info_.n_vocab = c.n_vocab;
  info_.n_layer = c.n_layer;
  info_.max_input_tokens = o.max_input_tokens;
  info_.file_bytes = model_->file_bytes;
  info_.fingerprint = model_fingerprint(model_->path);
  info_.name = model_->name;
  info_.n_head = c.n_head;
  info_.n_head_kv = c.n_head_kv;
  info_.head_dim = c.head_dim;
  info_.n_ff = c.n_ff;
  info_.rope_theta = c.rope_theta;
  info_.rms_eps = shortest_double(c.rms_eps);
  info_.n_params = parameter_count(c);
  info_.tokenizer_tokens = model_->tokenizer->n_vocab();
  info_.eos_id = model_->tokenizer->eos_id();
  info_.appends_eos = model_->append_eos;
  info_.tensor_types = model_->tensor_type_counts;

  std::unique_ptr<Backend> backend = make_backend(*model_, o.backend);
  info_.backend = backend->info();
  info_.memory = backend->memory_plan(std::max(o.max_batch_tokens, o.max_input_tokens));
  // An interactive batch (at most max_batch_tokens) may run between two steps of a bulk one: both tasks are alive.
  if (o.interactive_max_tokens > 0)
    info_.memory.activation_bytes += backend->memory_plan(o.max_batch_tokens).activation_bytes;
  EngineOptions engine_options;
  engine_options.max_batch_tokens = o.max_batch_tokens;
  engine_options.prefix_cache_bytes = o.prefix_cache_bytes;
  engine_options.head = o.reranker ? OutputHead::kRankLogits : OutputHead::kLastTokenPooled;
  auto engine = std::make_unique<Engine>(std::move(backend), c, engine_options);
  BatcherOptions batcher_options;
  batcher_options.max_batch_tokens = o.max_batch_tokens;
  batcher_options.max_batch_inputs = o.max_batch_inputs;
  batcher_options.max_queue_tokens = o.max_queue_tokens;
  batcher_options.max_queue_inputs = o.max_queue_inputs;
  batcher_options.max_queue_work = static_cast<double>(o.max_queue_work);
  batcher_options.interactive_max_tokens = o.interactive_max_tokens;
  batcher_options.max_step_ms = o.max_step_ms;
  batcher_options.max_batch_ms = o.max_batch_ms;
  batcher_options.cost = cost;
  // The embedding cache: pooled vectors of embedding models only (a reranker's logits depend on the whole pair and
  // are cheap to recompute next to the cost of keeping them consistent).
  if (!o.reranker) {
    if (o.cache_bytes > 0) cache_ = std::make_unique<EmbeddingCache>(o.cache_bytes, stats_.get());
    if (!o.cache_redis.url.empty()) redis_ = std::make_unique<RedisCache>(o.cache_redis, c.n_embd, *stats_);
    if (cache_ || redis_) {
      batcher_options.on_pooled = [this](std::span<const int32_t> ids, std::span<const float> pooled) {
        remember_pooled(ids, pooled);
      };
    }
  }
  batcher_ = std::make_unique<Batcher>(std::move(engine), batcher_options, *stats_);
}

std::unique_ptr<EmbeddingService> EmbeddingService::load(const std::string& model_path, const ServiceOptions& options) {
  return std::make_unique<EmbeddingService>(
      Model::load(model_path, options.reranker ? ModelRole::kReranker : ModelRole::kEmbedding), options);
}

EmbeddingService::~EmbeddingService() { stop(); }

void EmbeddingService::stop() {
  if (batcher_) batcher_->stop();
}

std::string EmbeddingService::prompt_text(const EmbedParams& params) const {
  return resolve_prompt(params.prompt_name, params.instruction, options_.default_prompt_name, options_.prompts);
}

EncodedRequest EmbeddingService::encode(const EmbedInputs& inputs, const EmbedParams& params) const {
  if (options_.reranker) {
    throw Error("the model '" + info_.id +
                "' is a reranker: it scores documents against a query and does not "
                "compute embeddings");
  }
  const std::string prompt = prompt_text(params);  // checked for token inputs too, which carry no prompt
  check_dimensions(params.dimensions, info_.n_embd);
  if (inputs.size() == 0) throw Error("the request has no inputs");
  const Tokenizer& tok = *model_->tokenizer;
  FitRule rule;
  rule.eos_id = tok.eos_id();
  rule.append_eos = model_->append_eos;
  rule.max_tokens = options_.max_input_tokens;
  rule.truncate = params.truncate;
  rule.side = params.truncation_side;
  rule.truncate_hint = params.truncate_hint;

  EncodedRequest req;
  req.dimensions = params.dimensions;
  req.normalize = params.normalize;
  req.first_index = inputs.first_index;
  req.seqs.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int64_t index = inputs.first_index + static_cast<int64_t>(i);
    const std::string input = "input " + std::to_string(index);
    std::vector<int32_t> ids;
    if (inputs.are_tokens) {
      ids = inputs.token_ids[i];
      if (ids.empty()) throw Error(input + " is an empty token array");
      for (int32_t id : ids) {
        if (id < 0 || id >= info_.n_vocab) {
          throw Error(input + " has token id " + std::to_string(id) + ", outside the vocabulary [0, " +
                      std::to_string(info_.n_vocab) + ")");
        }
      }
    } else {
      const std::string& text = inputs.texts[i];
      if (text.empty()) throw Error(input + " is an empty string");
      try {
        ids = tok.encode(prompt.empty() ? text : prompt + text);
      } catch (const Error& e) {
        throw Error(input + ": " + e.what(), e.kind());
      }
    }
    fit_to_limit(ids, rule, index);
    req.n_tokens += static_cast<int64_t>(ids.size());
    req.seqs.push_back(std::move(ids));
  }
  if (!prompt.empty() && !inputs.are_tokens && options_.prefix_cache_bytes > 0) {
    // The prompt's own tokenization need not be a prefix of an input's (the boundary token can merge with the
    // text); the cache matches ids, so a differing last token costs one position, not the reuse. A prompt as long
    // as the input limit can never be followed by a token: not worth its memory.
    std::vector<int32_t> ids = tok.encode(prompt);
    if (static_cast<int64_t>(ids.size()) < options_.max_input_tokens) req.prompt_ids = std::move(ids);
  }
  return req;
}

Admission EmbeddingService::submit(EncodedRequest request, EmbedDone done,
                                   std::shared_ptr<std::atomic<bool>> cancelled) {
  if (cache_ || redis_) return submit_cached(std::move(request), std::move(done), std::move(cancelled));
  return batcher_->submit(std::move(request), std::move(done), std::move(cancelled));
}

double EmbeddingService::work_of(const EncodedRequest& request) const { return batcher_->work_of(request.seqs); }

double EmbeddingService::seconds_until_room(double work) const {
  const auto rate = static_cast<double>(stats_->work_per_second.load());
  const double excess =
      static_cast<double>(stats_->admitted_work.load()) + work - static_cast<double>(options_.max_queue_work);
  return rate > 0 && excess > 0 ? excess / rate : 0;
}

EmbedResult EmbeddingService::embed(const EmbedInputs& inputs, const EmbedParams& params) {
  return embed(encode(inputs, params));
}

EmbedResult EmbeddingService::embed(EncodedRequest request) {
  const size_t n_inputs = request.seqs.size();
  int64_t n_tokens = 0;
  for (const auto& s : request.seqs) n_tokens += static_cast<int64_t>(s.size());
  const auto work = static_cast<int64_t>(std::ceil(work_of(request)));
  auto promise = std::make_shared<std::promise<EmbedResult>>();
  std::future<EmbedResult> future = promise->get_future();
  const Admission admission = submit(std::move(request), [promise](EmbedResult result, const Error* error) {
    if (error) {
      promise->set_exception(std::make_exception_ptr(Error(error->what(), error->kind())));
    } else {
      promise->set_value(std::move(result));
    }
  });
  switch (admission) {
    case Admission::kQueued:
      return future.get();
    case Admission::kBusy:
      throw LimitError("the embedding queue is full; retry later");
    case Admission::kTooLarge:
      throw LimitError("the request has " + std::to_string(n_tokens) + " tokens (" + std::to_string(work) +
                       " token-equivalents of work) in " + std::to_string(n_inputs) +
                       " inputs; the queue holds at most " + std::to_string(options_.max_queue_tokens) + " tokens, " +
                       std::to_string(options_.max_queue_inputs) + " inputs and " +
                       std::to_string(options_.max_queue_work) + " token-equivalents of work");
    case Admission::kStopping:
      break;
  }
  throw LimitError("the embedding service is stopping");
}

std::vector<TokenizedInput> EmbeddingService::tokenize(const std::vector<std::string>& texts, const EmbedParams& params,
                                                       bool add_special) const {
  const std::string prompt = prompt_text(params);
  const Tokenizer& tok = *model_->tokenizer;
  std::vector<TokenizedInput> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    TokenizedInput t;
    t.text = prompt + texts[i];
    std::vector<int32_t> ids;
    try {
      ids = tok.encode(t.text);
    } catch (const Error& e) {
      throw Error("input " + std::to_string(i) + ": " + e.what(), e.kind());
    }
    size_t offset = 0;  // byte offsets into the text the tokenizer saw (prompt included)
    for (int32_t id : ids) {
      TokenPiece p;
      p.id = id;
      p.text = tok.token_bytes(id);
      p.special = tok.is_added_token(id);
      p.start = std::min(offset, t.text.size());
      offset += p.text.size();
      p.stop = std::min(offset, t.text.size());
      t.pieces.push_back(std::move(p));
    }
    if (add_special && model_->append_eos && (ids.empty() || ids.back() != tok.eos_id())) {
      TokenPiece eos;
      eos.id = tok.eos_id();
      eos.text = tok.token_bytes(eos.id);
      eos.special = true;
      eos.start = eos.stop = t.text.size();
      t.pieces.push_back(std::move(eos));
    }
    out.push_back(std::move(t));
  }
  return out;
}

CacheKey EmbeddingService::cache_key(const std::vector<int32_t>& ids) const {
  return CacheKey{info_.fingerprint, info_.backend.numeric_path, ids};
}

void EmbeddingService::warm_prompt(const EmbedParams& params) {
  const std::string prompt = prompt_text(params);
  if (prompt.empty() || options_.prefix_cache_bytes <= 0) return;
  std::vector<int32_t> ids = model_->tokenizer->encode(prompt);
  if (static_cast<int64_t>(ids.size()) >= options_.max_input_tokens) return;
  batcher_->run_on_worker([&ids](Engine& engine) { engine.remember_prefix(ids); });
}

}  // namespace qembed::service
