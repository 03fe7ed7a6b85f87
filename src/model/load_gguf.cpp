// GGUF -> Model: hyper-parameters from `<arch>.*` keys, vocab from `tokenizer.ggml.*`, weights in place.

#include "common/error.hpp"
#include "common/log.hpp"
#include "model/model_storage.hpp"
#include "model/weight_binder.hpp"
#include "tokenizer/vocab_gguf.hpp"

namespace qembed {

namespace {

// llama.cpp's pooling types (llama_pooling_type).
constexpr int64_t kPoolingLast = 3;
constexpr int64_t kPoolingRank = 4;
constexpr const char* kGgufRankHead = "cls.output.weight";

std::string pooling_name(int64_t pooling) {
  switch (pooling) {
    case 0:
      return "none";
    case 1:
      return "mean";
    case 2:
      return "cls";
    case kPoolingLast:
      return "last";
    case kPoolingRank:
      return "rank";
    default:
      return std::to_string(pooling);
  }
}

//! llama.cpp's converter writes a Qwen3 reranker's head as cls.output.weight, {n_embd, 2}: the LM head's rows of
//! the classifier labels, ["yes", "no"]. The labels say which row is which.
RankHead read_rank_head(const GgufFile& f, const std::string& arch, int64_t n_embd) {
  const GgufTensorInfo* t = f.find_tensor(kGgufRankHead);
  if (!t) throw Error(f.path() + ": pooling type rank but no " + kGgufRankHead + " (the reranker's yes/no head)");
  int64_t yes_row = 0, no_row = 1;
  if (const std::vector<std::string>* labels = f.get_string_array(arch + ".classifier.output_labels")) {
    auto find = [&](const char* label) -> int64_t {
      for (size_t i = 0; i < labels->size(); ++i) {
        if ((*labels)[i] == label) return static_cast<int64_t>(i);
      }
      return -1;
    };
    yes_row = find("yes");
    no_row = find("no");
    if (labels->size() != 2 || yes_row < 0 || no_row < 0) {
      throw Error(f.path() + ": " + arch + ".classifier.output_labels must be [\"yes\", \"no\"] for a Qwen3 reranker");
    }
  }
  const TensorSource src{t->name, t->type, t->ne, t->data, t->n_bytes};
  RankHead head;
  head.yes = tensor_row_f32(src, n_embd, 2, yes_row, f.path());
  head.no = tensor_row_f32(src, n_embd, 2, no_row, f.path());
  return head;
}

int64_t require_int(const GgufFile& f, const std::string& key) {
  std::optional<int64_t> v = f.get_int(key);
  if (!v) throw Error(f.path() + ": missing metadata key " + key);
  return *v;
}

Qwen3Config read_config(const GgufFile& f, const std::string& arch) {
  Qwen3Config c;
  c.n_embd = require_int(f, arch + ".embedding_length");
  c.n_layer = require_int(f, arch + ".block_count");
  c.n_head = require_int(f, arch + ".attention.head_count");
  c.n_head_kv = f.get_int(arch + ".attention.head_count_kv").value_or(c.n_head);
  c.n_ff = require_int(f, arch + ".feed_forward_length");
  c.n_ctx = require_int(f, arch + ".context_length");
  int64_t head_dim_default = c.n_head > 0 ? c.n_embd / c.n_head : 0;
  c.head_dim = f.get_int(arch + ".attention.key_length").value_or(head_dim_default);
  int64_t value_length = f.get_int(arch + ".attention.value_length").value_or(c.head_dim);
  if (value_length != c.head_dim) {
    throw Error(f.path() + ": attention.value_length " + std::to_string(value_length) + " differs from key_length " +
                std::to_string(c.head_dim) + " (not a Qwen3 layout)");
  }
  c.rope_theta = f.get_float(arch + ".rope.freq_base").value_or(1e6);
  c.rms_eps = static_cast<float>(f.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-6));
  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2) throw Error(f.path() + ": missing 2-D tensor token_embd.weight");
  c.n_vocab = embd->ne[1];
  return c;
}

}  // namespace

std::unique_ptr<Model> load_gguf_model(const std::string& path, ModelRole role) {
  std::unique_ptr<Model> model(new Model());
  model->storage = std::make_unique<Model::Storage>();
  model->storage->gguf = GgufFile::open(path);
  const GgufFile& f = *model->storage->gguf;

  std::string arch = f.get_string("general.architecture").value_or("");
  if (arch != "qwen3") {
    throw Error(path + ": unsupported architecture \"" + arch + "\" (general.architecture); supported: qwen3");
  }
  model->architecture = arch;
  model->path = path;
  model->format = "gguf";
  model->name = f.get_string("general.name").value_or(path);
  model->file_bytes = f.file_size();
  model->config = read_config(f, arch);
  model->config.validate(path);

  bind_qwen3_weights(
      *model,
      [&](const std::string& gguf_name, const std::string&) -> std::optional<TensorSource> {
        const GgufTensorInfo* t = f.find_tensor(gguf_name);
        if (!t) return std::nullopt;
        return TensorSource{t->name, t->type, t->ne, t->data, t->n_bytes};
      },
      path);

  VocabData vocab = vocab_from_gguf(f);
  if (static_cast<int64_t>(vocab.tokens.size()) > model->config.n_vocab) {
    throw Error(path + ": tokenizer has " + std::to_string(vocab.tokens.size()) +
                " tokens but token_embd.weight has only " + std::to_string(model->config.n_vocab) + " rows");
  }
  model->tokenizer = std::make_unique<Tokenizer>(std::move(vocab));

  // Qwen3-Embedding pools the last token, which must be the appended <|endoftext|>. Older official GGUF files
  // lack add_eos_token; a last-token-pooling (or unspecified) qwen3 model still needs the EOS.
  int64_t pooling = f.get_int(arch + ".pooling_type").value_or(kPoolingLast);
  model->role = role;
  if (role == ModelRole::kReranker) {
    if (pooling != kPoolingRank) {
      throw Error(path + ": not a reranker: its pooling type is " + pooling_name(pooling) +
                  " (a Qwen3-Reranker GGUF has pooling type rank and " + kGgufRankHead +
                  "); load an embedding model with --model");
    }
    model->rank_head = read_rank_head(f, arch, model->config.n_embd);
    model->tensor_type_counts[ggml_type_info(f.find_tensor(kGgufRankHead)->type).name]++;
    model->append_eos = false;  // the rerank prompt ends with the assistant turn's opening, scored there
    return model;
  }
  if (pooling == kPoolingRank) {
    throw Error(path + ": this is a reranker (pooling type rank, " + kGgufRankHead +
                "), not an embedding model; load it as a reranker (qembed rerank, serve --reranker-model, info --reranker)");
  }
  bool add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(true);
  model->append_eos = add_eos || pooling == kPoolingLast;
  if (pooling != kPoolingLast) {
    log::warn(path + " declares pooling_type " + std::to_string(pooling) + "; qembed pools the last token (EOS)");
  }
  return model;
}

}  // namespace qembed
