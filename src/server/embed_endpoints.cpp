// The embedding endpoints: OpenAI POST /v1/embeddings, TEI POST /embed, Ollama POST /api/embed. Each parses its
// own request shape into an EmbedRequest, tokenizes on the HTTP thread, queues a Job for the inference worker and
// answers from the worker's completion callback (formatting runs back on an I/O thread).
#include <boost/asio/post.hpp>

#include "common/error.hpp"
#include "engine/embedding_options.hpp"
#include "server/app.hpp"

namespace qembed::server {

using nlohmann::json;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

void App::check_model(const json& body) const {
  std::optional<std::string> name = opt_string(body, "model");
  if (name && !name->empty() && *name != served_name_) {
    throw ApiError(404, "model \"" + *name + "\" does not exist; this server serves \"" + served_name_ + "\"", "model",
                   "model_not_found");
  }
}

std::string App::prompt_prefix(const std::optional<std::string>& prompt_name,
                               const std::optional<std::string>& instruction) const {
  if (prompt_name && instruction) {
    throw ApiError(400, "prompt_name and instruction are mutually exclusive", "prompt_name");
  }
  if (instruction) {
    if (instruction->empty()) throw ApiError(400, "instruction must not be empty", "instruction");
    return format_instruction(*instruction, "");
  }
  std::string name = prompt_name ? *prompt_name : options_.default_prompt_name;
  if (name.empty()) return "";
  if (auto it = options_.prompts.find(name); it != options_.prompts.end()) return it->second;
  if (name == "query" || name == "document") {
    std::optional<std::string> task = task_for_prompt_name(name);
    return task ? format_instruction(*task, "") : "";
  }
  std::string valid = "query, document";
  for (const auto& [n, _] : options_.prompts) valid += ", " + n;
  throw ApiError(400, "unknown prompt_name \"" + name + "\"; valid names: " + valid, "prompt_name");
}

EmbedRequest App::parse_embed(const json& body, Api api) const {
  EmbedRequest r;
  const char* input_field = api == Api::kTEI ? "inputs" : "input";
  auto it = body.find(input_field);
  if (it == body.end()) throw ApiError(400, std::string("missing required field ") + input_field, input_field);
  r.inputs = parse_inputs(*it, input_field, options_.max_client_batch_size, model_->config.n_vocab);

  r.truncate = opt_bool(body, "truncate").value_or(api == Api::kOllama ? true : options_.auto_truncate);
  r.normalize = opt_bool(body, "normalize").value_or(true);
  if (api == Api::kOllama) r.normalize = true;  // Ollama always returns unit vectors
  if (auto dir = opt_string(body, "truncation_direction")) {
    if (*dir == "Left" || *dir == "left") {
      r.truncate_left = true;
    } else if (*dir != "Right" && *dir != "right") {
      throw ApiError(400, "truncation_direction must be \"Right\" or \"Left\", got \"" + *dir + "\"",
                     "truncation_direction");
    }
  }
  if (auto dims = opt_int(body, "dimensions")) {
    if (*dims <= 0)
      throw ApiError(400, "dimensions must be a positive integer, got " + std::to_string(*dims), "dimensions");
    try {
      check_dimensions(*dims, model_->config.n_embd);
    } catch (const Error& e) {
      throw ApiError(400, e.what(), "dimensions");
    }
    r.dimensions = *dims;
  }
  if (api == Api::kOpenAI) {
    std::string fmt = opt_string(body, "encoding_format").value_or("float");
    if (fmt == "base64") {
      r.base64 = true;
    } else if (fmt != "float") {
      throw ApiError(400, "encoding_format must be \"float\" or \"base64\", got \"" + fmt + "\"", "encoding_format");
    }
    opt_string(body, "user");  // accepted (type-checked), not used
  }
  r.prefix = prompt_prefix(opt_string(body, "prompt_name"), opt_string(body, "instruction"));
  return r;
}

std::vector<std::vector<int32_t>> App::tokenize_inputs(const EmbedRequest& req) const {
  const int32_t eos = model_->tokenizer->eos_id();
  const int64_t limit = max_input_tokens_;
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(req.inputs.size());
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    std::vector<int32_t> ids;
    if (req.inputs.are_tokens) {
      ids = req.inputs.token_arrays[i];
    } else {
      try {
        ids = model_->tokenizer->encode(req.prefix.empty() ? req.inputs.texts[i] : req.prefix + req.inputs.texts[i]);
      } catch (const Error& e) {
        throw ApiError(400, "input[" + std::to_string(i) + "]: " + e.what(), "input");
      }
    }
    if (model_->append_eos && (ids.empty() || ids.back() != eos)) ids.push_back(eos);
    const auto n = static_cast<int64_t>(ids.size());
    if (n > limit) {
      if (!req.truncate) {
        throw ApiError(400,
                       "input[" + std::to_string(i) + "] has " + std::to_string(n) + " tokens, the limit is " +
                           std::to_string(limit) + " (set \"truncate\": true to keep the first " +
                           std::to_string(limit) + ")",
                       "input", "context_length_exceeded");
      }
      if (req.truncate_left) {
        ids.erase(ids.begin(), ids.begin() + (n - limit));  // keeps the trailing EOS
      } else {
        ids.resize(static_cast<size_t>(limit));
        if (model_->append_eos) ids.back() = eos;
      }
    }
    seqs.push_back(std::move(ids));
  }
  return seqs;
}

std::vector<int32_t> App::prefix_ids(const EmbedRequest& req) const {
  if (req.prefix.empty() || req.inputs.are_tokens || options_.prefix_cache_mb <= 0) return {};
  std::vector<int32_t> ids;
  try {
    ids = model_->tokenizer->encode(req.prefix);
  } catch (const Error&) {
    return {};  // the inputs were tokenized with it already; without an entry they are only computed in full
  }
  // The prompt's own tokenization need not be a prefix of an input's (the boundary token can merge with the
  // text); the cache matches token ids, so a differing last token costs one position, not the reuse. A prompt
  // as long as the input limit could never be followed by a token: not worth its memory.
  if (static_cast<int64_t>(ids.size()) >= max_input_tokens_) return {};
  return ids;
}

void App::embed(const Ctx& ctx, const json& body, Api api) {
  if (api != Api::kTEI) check_model(body);
  auto req = std::make_shared<EmbedRequest>(parse_embed(body, api));
  const Clock::time_point t0 = Clock::now();
  auto job = std::make_shared<Job>();
  job->seqs = tokenize_inputs(*req);
  job->prefix_ids = prefix_ids(*req);
  req->inputs = Inputs{};  // the texts are no longer needed
  ctx->tokenize_ms = ms_between(t0, Clock::now());
  ctx->n_inputs = static_cast<int64_t>(job->seqs.size());
  for (const auto& s : job->seqs) {
    job->n_tokens += static_cast<int64_t>(s.size());
    metrics_.input_length(static_cast<int64_t>(s.size()));
  }
  ctx->n_tokens = job->n_tokens;
  job->cancelled = ctx->exchange->client_gone;
  // Runs on the worker: hand the formatting to an I/O thread so the worker goes straight to the next batch.
  std::weak_ptr<Job> weak = job;
  job->on_done = [this, ctx, req, weak, api](bool ok, const std::string& error) {
    std::shared_ptr<Job> j = weak.lock();
    if (!j) return;
    boost::asio::post(io_, [this, ctx, req, j, ok, error, api] {
      ctx->queue_ms = ms_between(j->queued_at, j->started_at == Clock::time_point{} ? j->finished_at : j->started_at);
      ctx->compute_ms = j->started_at == Clock::time_point{} ? 0 : ms_between(j->started_at, j->finished_at);
      metrics_.embed_timings(ctx->tokenize_ms / 1000, ctx->queue_ms / 1000, ctx->compute_ms / 1000);
      if (!ok) {
        // 499 is nginx's "client closed request": logged and counted, never seen by a client.
        const int status = *ctx->exchange->client_gone ? 499 : 500;
        return fail(ctx, ApiError(status, error));
      }
      try {
        respond_embeddings(ctx, *req, *j, api);
      } catch (const std::exception& e) {
        fail(ctx, ApiError(500, std::string("could not format the response: ") + e.what()));
      }
    });
  };
  switch (scheduler_->submit(job)) {
    case Admission::kQueued:
      return;
    case Admission::kBusy:
      throw ApiError(429, "the queue is full (" + std::to_string(scheduler_->options().max_queue_tokens) +
                              " tokens); retry later");
    case Admission::kTooLarge:
      throw ApiError(413, "the request has " + std::to_string(job->n_tokens) + " tokens in " +
                              std::to_string(job->seqs.size()) + " inputs; the server queues at most " +
                              std::to_string(scheduler_->options().max_queue_tokens) + " tokens and " +
                              std::to_string(scheduler_->options().max_queue_inputs) +
                              " inputs (--max-queue-tokens); split it");
    case Admission::kStopping:
      throw ApiError(503, "the server is shutting down");
  }
}

void App::respond_embeddings(const Ctx& ctx, const EmbedRequest& req, Job& job, Api api) {
  const int64_t E = model_->config.n_embd;
  std::string out;
  out.reserve(job.pooled.size() * static_cast<size_t>(req.dimensions > 0 ? req.dimensions : E) * 12 + 256);
  auto vec = [&](size_t i) {
    std::vector<float> v = finalize_embedding(job.pooled[i].data(), E, req.dimensions, req.normalize);
    std::vector<float>().swap(job.pooled[i]);
    return v;
  };
  if (api == Api::kOpenAI) {
    out += R"({"object":"list","data":[)";
    for (size_t i = 0; i < job.pooled.size(); ++i) {
      if (i) out += ',';
      out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
      if (req.base64) {
        out += '"' + base64_floats(vec(i)) + '"';
      } else {
        append_float_array(out, vec(i));
      }
      out += '}';
    }
    out += R"(],"model":)";
    append_json_string(out, served_name_);
    out += R"(,"usage":{"prompt_tokens":)" + std::to_string(job.n_tokens) + R"(,"total_tokens":)" +
           std::to_string(job.n_tokens) + "}}";
  } else if (api == Api::kTEI) {
    out += '[';
    for (size_t i = 0; i < job.pooled.size(); ++i) {
      if (i) out += ',';
      append_float_array(out, vec(i));
    }
    out += ']';
  } else {
    out += R"({"model":)";
    append_json_string(out, served_name_);
    out += R"(,"embeddings":[)";
    for (size_t i = 0; i < job.pooled.size(); ++i) {
      if (i) out += ',';
      append_float_array(out, vec(i));
    }
    const auto total_ns =
        static_cast<int64_t>(std::chrono::duration<double, std::nano>(Clock::now() - ctx->received_at).count());
    out += R"(],"total_duration":)" + std::to_string(total_ns) + R"(,"load_duration":0,"prompt_eval_count":)" +
           std::to_string(job.n_tokens) + "}";
  }
  finish(ctx, 200, std::move(out), "application/json");
}

}  // namespace qembed::server
