// A HuggingFace folder as input for qembed quantize: the model is loaded as qembed serves it (shapes checked by
// the binder), its weights renamed to GGUF names, and its config and tokenizer.json written as GGUF metadata.
#include <filesystem>
#include <memory>

#include "convert/model_source.hpp"
#include "convert/qwen3_gguf_metadata.hpp"
#include "model/model.hpp"
#include "model/qwen3_tensors.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::convert {

namespace {

struct HfHolder {
  std::unique_ptr<Model> model;
  std::vector<float> rank_rows;  // a reranker's cls.output.weight: the head's "yes" row, then "no"
};

const WeightMatrix* layer_matrix(const LayerWeights& l, TensorRole role) {
  switch (role) {
    case TensorRole::Wq:
      return &l.wq;
    case TensorRole::Wk:
      return &l.wk;
    case TensorRole::Wv:
      return &l.wv;
    case TensorRole::Wo:
      return &l.wo;
    case TensorRole::WGate:
      return &l.w_gate;
    case TensorRole::WUp:
      return &l.w_up;
    case TensorRole::WDown:
      return &l.w_down;
    default:
      return nullptr;
  }
}

const std::vector<float>& layer_norm(const LayerWeights& l, TensorRole role) {
  switch (role) {
    case TensorRole::AttnNorm:
      return l.attn_norm;
    case TensorRole::QNorm:
      return l.q_norm;
    case TensorRole::KNorm:
      return l.k_norm;
    default:
      return l.ffn_norm;
  }
}

SourceTensor matrix_tensor(std::string name, const WeightMatrix& w) {
  return {std::move(name), w.type, {w.n_in, w.n_out}, w.data};
}

SourceTensor vector_tensor(std::string name, const std::vector<float>& v) {
  return {std::move(name), GgmlType::F32, {static_cast<int64_t>(v.size())}, reinterpret_cast<const uint8_t*>(v.data())};
}

}  // namespace

ModelSource open_hf_source(const std::string& dir, bool reranker) {
  auto holder = std::make_shared<HfHolder>();
  holder->model = Model::load(dir, reranker ? ModelRole::kReranker : ModelRole::kEmbedding);
  const Model& m = *holder->model;
  auto vocab = std::make_shared<VocabData>(vocab_from_tokenizer_json(dir + "/tokenizer.json"));

  ModelSource src;
  src.n_layer = m.config.n_layer;
  src.input_bytes = m.file_bytes;
  src.default_name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (src.default_name.empty()) src.default_name = std::filesystem::path(dir).parent_path().filename().string();
  src.tensors.push_back(matrix_tensor(kGgufTokenEmbd, m.token_embd));
  for (int i = 0; i < static_cast<int>(m.layers.size()); ++i) {
    for (const TensorNames& names : kQwen3LayerTensors) {
      const std::string name = layer_tensor_name(names.gguf, i);
      if (const WeightMatrix* w = layer_matrix(m.layers[i], names.role)) {
        src.tensors.push_back(matrix_tensor(name, *w));
      } else {
        src.tensors.push_back(vector_tensor(name, layer_norm(m.layers[i], names.role)));
      }
    }
  }
  src.tensors.push_back(vector_tensor(kGgufOutputNorm, m.output_norm));
  if (reranker) {
    // llama.cpp's converter keeps only the head's rows of the labels, in label order.
    holder->rank_rows = m.rank_head.yes;
    holder->rank_rows.insert(holder->rank_rows.end(), m.rank_head.no.begin(), m.rank_head.no.end());
    src.tensors.push_back({"cls.output.weight",
                           GgmlType::F32,
                           {m.config.n_embd, 2},
                           reinterpret_cast<const uint8_t*>(holder->rank_rows.data())});
  }
  const Qwen3Config config = m.config;
  src.write_metadata = [config, vocab, reranker](GgufWriter& w, const DescribeOutput& out) {
    add_qwen3_metadata(w, config, *vocab,
                       {.name = out.name,
                        .file_type = out.file_type,
                        .quantized = out.quantized,
                        .reranker = reranker,
                        .add_eos = true});
  };
  src.owner = holder;
  return src;
}

}  // namespace qembed::convert
