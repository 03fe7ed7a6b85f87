#pragma once
// A loaded Qwen3 model — an embedding model or a reranker — : hyper-parameters, weight views into the mapped
// file(s), and its tokenizer. It describes the tensors only; preparing them for a device (repacking, upload) is a
// backend's job (src/backend).
//
// Both families share the architecture, and HF folders of both declare Qwen3ForCausalLM, so the role is never
// guessed from the weights: the caller says how it loads a model (--model or --reranker-model), and a GGUF file's
// pooling type (rank, written by llama.cpp's converter for rerankers) must agree with it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/weight_matrix.hpp"
#include "model/qwen3_config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace qembed {

//! The weights of one transformer block. Norm weights are small and converted to f32 at load.
struct LayerWeights {
  std::vector<float> attn_norm;  // (n_embd)
  std::vector<float> q_norm;     // (head_dim)
  std::vector<float> k_norm;     // (head_dim)
  std::vector<float> ffn_norm;   // (n_embd)
  WeightMatrix wq;               // (q_dim, n_embd)
  WeightMatrix wk;               // (kv_dim, n_embd)
  WeightMatrix wv;               // (kv_dim, n_embd)
  WeightMatrix wo;               // (n_embd, q_dim)
  WeightMatrix w_gate;           // (n_ff, n_embd)
  WeightMatrix w_up;             // (n_ff, n_embd)
  WeightMatrix w_down;           // (n_embd, n_ff)
};

enum class ModelRole {
  kEmbedding,  //!< Qwen3-Embedding: the output-normed hidden state at the last token (EOS) is the vector
  kReranker,   //!< Qwen3-Reranker: the "yes" and "no" logits at the last token of the rerank prompt
};
//! "embedding" or "reranker".
const char* model_role_name(ModelRole role);

//! A reranker's head: the LM head's rows of the tokens "yes" and "no", in f32. The score is
//! sigmoid(yes·h - no·h) for the output-normed hidden state h at the last position; the other vocabulary rows are
//! never needed, so they are never read.
struct RankHead {
  std::vector<float> yes, no;  // (n_embd) each
  int32_t yes_id = -1, no_id = -1;  //!< the tokens' ids (HF folders) or -1 (GGUF cls.output.weight)
};

class Model {
 public:
  //! Loads a GGUF file or a HuggingFace folder as `role`; throws Error naming the file and what is wrong,
  //! including a GGUF reranker loaded as an embedding model and the reverse, and a reranker without a head.
  static std::unique_ptr<Model> load(const std::string& path, ModelRole role = ModelRole::kEmbedding);
  ~Model();

  Qwen3Config config;
  WeightMatrix token_embd;  // (n_vocab, n_embd): row = token
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // (n_embd)
  std::unique_ptr<Tokenizer> tokenizer;
  bool append_eos = true;  //!< append <|endoftext|> to every input (Qwen3 last-token pooling; not for rerankers)
  ModelRole role = ModelRole::kEmbedding;
  RankHead rank_head;  //!< filled for a reranker only

  std::string path;
  std::string format;                             //!< "gguf" or "safetensors"
  std::string name;                               //!< general.name or the folder name
  std::string architecture;                       //!< "qwen3"
  uint64_t file_bytes = 0;                        //!< total size of the weight file(s)
  std::map<std::string, int> tensor_type_counts;  //!< ggml type name -> number of tensors

  //! Opaque owner of the mapped file(s) the weight views point into.
  struct Storage;
  std::unique_ptr<Storage> storage;

 private:
  Model();
  friend std::unique_ptr<Model> load_gguf_model(const std::string& path, ModelRole role);
  friend std::unique_ptr<Model> load_hf_model(const std::string& dir, ModelRole role);
};

}  // namespace qembed
