// HuggingFace folder -> Model: config.json hyper-parameters, tokenizer.json vocab, safetensors weights in place.
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "model/model_storage.hpp"
#include "model/weight_binder.hpp"

namespace qembed {

namespace {

int64_t json_int(const nlohmann::json& cfg, const char* key, const std::string& where,
                 std::optional<int64_t> fallback = std::nullopt) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) {
    if (fallback) return *fallback;
    throw Error(where + ": missing \"" + key + "\"");
  }
  if (!it->is_number_integer()) throw Error(where + ": \"" + key + "\" must be an integer");
  return it->get<int64_t>();
}

double json_float(const nlohmann::json& cfg, const char* key, double fallback, const std::string& where) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw Error(where + ": \"" + key + "\" must be a number");
  return it->get<double>();
}

std::optional<GgmlType> dtype_to_ggml(const std::string& dtype) {
  if (dtype == "F32") return GgmlType::F32;
  if (dtype == "F16") return GgmlType::F16;
  if (dtype == "BF16") return GgmlType::BF16;
  return std::nullopt;
}

//! The one token a word is, for the reranker's "yes" and "no"; Error when the tokenizer splits it.
int32_t single_token(const Tokenizer& tok, const char* word, const std::string& dir) {
  std::vector<int32_t> ids = tok.encode(word);
  if (ids.size() != 1) throw Error(dir + "/tokenizer.json: \"" + word + "\" is not a single token; not a Qwen3 tokenizer");
  return ids[0];
}

//! A Qwen3-Reranker folder is a causal LM: its head is lm_head.weight, or embed_tokens when the config ties them
//! (0.6B). Only the rows of "yes" and "no" are read.
RankHead read_hf_rank_head(const nlohmann::json& cfg, const Tokenizer& tok,
                           const std::function<std::optional<TensorSource>(const std::string&)>& find,
                           const std::string& dir, const Qwen3Config& c) {
  std::optional<TensorSource> head = find("lm_head.weight");
  if (!head) {
    auto tied = cfg.find("tie_word_embeddings");
    if (tied == cfg.end() || !tied->is_boolean() || !tied->get<bool>()) {
      throw Error(dir + ": a reranker needs its LM head: no lm_head.weight and config.json does not set "
                        "\"tie_word_embeddings\": true");
    }
    head = find(kHfTokenEmbd);
  }
  RankHead h;
  h.yes_id = single_token(tok, "yes", dir);
  h.no_id = single_token(tok, "no", dir);
  h.yes = tensor_row_f32(*head, c.n_embd, c.n_vocab, h.yes_id, dir);
  h.no = tensor_row_f32(*head, c.n_embd, c.n_vocab, h.no_id, dir);
  return h;
}

}  // namespace

std::unique_ptr<Model> load_hf_model(const std::string& dir, ModelRole role) {
  std::unique_ptr<Model> model(new Model());
  model->storage = std::make_unique<Model::Storage>();
  model->storage->hf = HfCheckpoint::open(dir);
  const HfCheckpoint& ckpt = *model->storage->hf;
  const nlohmann::json& cfg = ckpt.config();
  std::string where = dir + "/config.json";

  const auto type_it = cfg.find("model_type");
  if (type_it != cfg.end() && !type_it->is_string()) throw Error(where + ": \"model_type\" must be a string");
  const std::string model_type = type_it != cfg.end() ? type_it->get<std::string>() : std::string();
  if (model_type != "qwen3") {
    throw Error(where + ": unsupported model_type \"" + model_type + "\"; supported: qwen3");
  }
  Qwen3Config c;
  c.n_embd = json_int(cfg, "hidden_size", where);
  c.n_layer = json_int(cfg, "num_hidden_layers", where);
  c.n_head = json_int(cfg, "num_attention_heads", where);
  c.n_head_kv = json_int(cfg, "num_key_value_heads", where, c.n_head);
  c.head_dim = json_int(cfg, "head_dim", where, c.n_head > 0 ? c.n_embd / c.n_head : 0);
  c.n_ff = json_int(cfg, "intermediate_size", where);
  c.n_ctx = json_int(cfg, "max_position_embeddings", where, 32768);
  c.rope_theta = json_float(cfg, "rope_theta", 1e6, where);
  c.rms_eps = static_cast<float>(json_float(cfg, "rms_norm_eps", 1e-6, where));
  const SafetensorsTensor* embd = ckpt.find_tensor(kHfTokenEmbd);
  if (!embd || embd->shape.size() != 2) throw Error(dir + ": missing 2-D tensor embed_tokens.weight");
  c.n_vocab = embd->shape[0];
  c.validate(where);

  model->config = c;
  model->architecture = model_type;
  model->path = dir;
  model->format = "safetensors";
  model->name = dir;
  model->file_bytes = ckpt.total_bytes();

  auto find_hf = [&](const std::string& hf_name) -> std::optional<TensorSource> {
    const SafetensorsTensor* t = ckpt.find_tensor(hf_name);
    if (!t) return std::nullopt;
    std::optional<GgmlType> type = dtype_to_ggml(t->dtype);
    if (!type) throw Error(dir + ": tensor " + t->name + " has dtype " + t->dtype + "; supported: F32, F16, BF16");
    // safetensors shapes are outermost-first; ggml order is the reverse.
    std::vector<int64_t> ne(t->shape.rbegin(), t->shape.rend());
    return TensorSource{t->name, *type, ne, t->data, t->n_bytes};
  };
  bind_qwen3_weights(
      *model, [&](const std::string&, const std::string& hf_name) { return find_hf(hf_name); }, dir);

  model->tokenizer = std::make_unique<Tokenizer>(vocab_from_tokenizer_json(ckpt.tokenizer_json_path()));
  model->role = role;
  model->append_eos = role == ModelRole::kEmbedding;  // the rerank prompt is scored at its own last token
  if (role == ModelRole::kReranker) model->rank_head = read_hf_rank_head(cfg, *model->tokenizer, find_hf, dir, c);
  return model;
}

}  // namespace qembed
