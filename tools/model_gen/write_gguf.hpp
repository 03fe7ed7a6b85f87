#pragma once
// A synthetic Qwen3 embedding model as a GGUF file llama.cpp can load: qwen3.* hyper-parameters, last-token
// pooling, the real tokenizer vocabulary, and the tensor table from model_spec.hpp. A reranker is written the way
// llama.cpp's converter writes Qwen3-Reranker: rank pooling, labels ["yes", "no"], the rerank prompt template, and
// cls.output.weight holding the LM head's rows of those two tokens.
#include <memory>
#include <string>

#include "formats/gguf_writer.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "tensor_fill.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::model_gen {

//! The prompt llama.cpp's converter stores for Qwen3-Reranker; {query} and {document} are filled in by the caller.
inline constexpr const char* kRerankTemplate =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n<Instruct>: Given a "
    "web search query, retrieve relevant passages that answer the query\n<Query>: {query}\n<Document>: "
    "{document}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

inline void add_tokenizer_metadata(GgufWriter& w, const VocabData& vocab, bool eos_flag, bool reranker) {
  std::vector<std::string> tokens = vocab.tokens;
  std::vector<int32_t> types;
  types.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    // Ids missing from tokenizer.json get a unique placeholder, as llama.cpp's converter does.
    if (tokens[i].empty()) tokens[i] = "[PAD" + std::to_string(i) + "]";
    types.push_back(static_cast<int32_t>(vocab.token_types[i]));
  }
  std::vector<std::string> merges;
  merges.reserve(vocab.merges.size());
  for (const auto& [a, b] : vocab.merges) merges.push_back(a + " " + b);
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos_id));
  w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(vocab.eos_id));
  // A reranker's prompt ends in "\n\n" and is scored there: an appended EOS would move the scored position.
  if (reranker) {
    w.set_bool("tokenizer.ggml.add_eos_token", false);
  } else if (eos_flag) {
    w.set_bool("tokenizer.ggml.add_eos_token", true);
  }
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  if (reranker) w.set_string("tokenizer.chat_template.rerank", kRerankTemplate);
}

inline void write_gguf_model(const Options& o, const VocabData& vocab) {
  const ModelShape& s = o.shape;
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  const bool reranker = o.rerank.has_value();
  w.set_string("general.name",
               reranker ? "qembed synthetic reranker (random weights)" : "qembed synthetic demo (random weights)");
  w.set_u32("general.file_type", o.type.file_type);
  if (o.type.mix || ggml_type_info(o.type.base).block_values > 1) w.set_u32("general.quantization_version", 2);
  w.set_u32("qwen3.context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32("qwen3.embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32("qwen3.block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32("qwen3.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32("qwen3.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32("qwen3.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_u32("qwen3.attention.key_length", static_cast<uint32_t>(s.head_dim));
  w.set_u32("qwen3.attention.value_length", static_cast<uint32_t>(s.head_dim));
  w.set_f32("qwen3.rope.freq_base", s.rope_theta);
  w.set_f32("qwen3.attention.layer_norm_rms_epsilon", s.rms_eps);
  w.set_u32("qwen3.pooling_type", reranker ? 4 : 3);  // rank : last token
  if (reranker) w.set_string_array("qwen3.classifier.output_labels", {"yes", "no"});
  add_tokenizer_metadata(w, vocab, o.eos_flag, reranker);

  auto specs = std::make_shared<std::vector<TensorSpec>>(qwen3_tensors(s, o.rerank));
  std::erase_if(*specs, [](const TensorSpec& t) { return !t.in_gguf; });
  auto progress = std::make_shared<Progress>(specs->size());
  for (const TensorSpec& t : *specs) {
    const GgmlType type = tensor_type(o.type, t, s.n_layer);
    std::vector<int64_t> ne = t.is_vector ? std::vector<int64_t>{t.cols} : std::vector<int64_t>{t.cols, t.rows};
    const TensorSpec* tp = &t;
    w.add_tensor(t.gguf_name, type, ne, [&o, tp, type, progress](uint8_t* dst) {
      fill_tensor(o.seed, *tp, type, dst, o.n_threads);
      progress->step(tp->gguf_name, ggml_type_info(type).name);
    });
  }
  w.write(o.out);
}

}  // namespace qembed::model_gen
