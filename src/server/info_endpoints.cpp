// The descriptive endpoints: TEI GET /info and POST /tokenize, OpenAI GET /v1/models.
#include "server/app.hpp"

#ifndef QEMBED_VERSION
#define QEMBED_VERSION "0.1.0"
#endif

namespace qembed::server {

using nlohmann::json;

json App::info() const {
  std::string dtype;
  for (const auto& [type, n] : model_->tensor_type_counts) {
    if (dtype.empty() || n > model_->tensor_type_counts.at(dtype)) dtype = type;  // the most common weight type
  }
  return {
      {"model_id", served_name_},
      {"model_sha", nullptr},
      {"model_path", model_->path},
      {"model_dtype", dtype},
      {"model_type", {{"embedding", {{"pooling", "last_token"}}}}},
      {"embedding_dimensions", model_->config.n_embd},
      {"max_concurrent_requests", options_.max_concurrent_requests},
      {"max_input_length", max_input_tokens_},
      {"max_batch_tokens", options_.max_batch_tokens},
      {"max_batch_requests", options_.max_batch_requests > 0 ? json(options_.max_batch_requests) : json(nullptr)},
      {"max_client_batch_size", options_.max_client_batch_size},
      {"auto_truncate", options_.auto_truncate},
      {"tokenization_workers", options_.io_threads},
      {"version", QEMBED_VERSION},
  };
}

json App::models() const {
  return {{"object", "list"},
          {"data",
           json::array(
               {{{"id", served_name_}, {"object", "model"}, {"created", created_unix_s_}, {"owned_by", "qembed"}}})}};
}

void App::tokenize(const Ctx& ctx, const json& body) {
  auto it = body.find("inputs");
  if (it == body.end()) throw ApiError(400, "missing required field inputs", "inputs");
  Inputs in = parse_inputs(*it, "inputs", options_.max_client_batch_size, model_->config.n_vocab);
  if (in.are_tokens) throw ApiError(400, "inputs must be a string or an array of strings", "inputs");
  const bool add_special = opt_bool(body, "add_special_tokens").value_or(true);
  const std::string prefix = prompt_prefix(opt_string(body, "prompt_name"), std::nullopt);
  const Tokenizer& tok = *model_->tokenizer;
  json out = json::array();
  for (const std::string& raw : in.texts) {
    const std::string text = prefix + raw;
    std::vector<int32_t> ids = tok.encode(text);
    ctx->n_tokens += static_cast<int64_t>(ids.size());
    json tokens = json::array();
    size_t offset = 0;  // byte offsets into the text the tokenizer saw (prompt included)
    for (int32_t id : ids) {
      std::string piece = tok.token_bytes(id);
      const size_t start = std::min(offset, text.size());
      offset += piece.size();
      tokens.push_back({{"id", id},
                        {"text", piece},
                        {"special", tok.is_added_token(id)},
                        {"start", start},
                        {"stop", std::min(offset, text.size())}});
    }
    if (add_special && model_->append_eos && (ids.empty() || ids.back() != tok.eos_id())) {
      tokens.push_back({{"id", tok.eos_id()},
                        {"text", tok.token_bytes(tok.eos_id())},
                        {"special", true},
                        {"start", text.size()},
                        {"stop", text.size()}});
      ++ctx->n_tokens;
    }
    out.push_back(std::move(tokens));
  }
  ctx->n_inputs = static_cast<int64_t>(in.texts.size());
  finish(ctx, 200, out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

}  // namespace qembed::server
