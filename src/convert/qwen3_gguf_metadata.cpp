#include "convert/qwen3_gguf_metadata.hpp"

#include <vector>

namespace qembed::convert {

const char* const kQwen3RerankTemplate =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n<Instruct>: Given a "
    "web search query, retrieve relevant passages that answer the query\n<Query>: {query}\n<Document>: "
    "{document}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

namespace {

constexpr uint32_t kPoolingLast = 3, kPoolingRank = 4;  // llama.cpp's enum llama_pooling_type

void add_tokenizer_metadata(GgufWriter& w, const VocabData& vocab, const Qwen3GgufDescription& d) {
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
  if (d.reranker) {
    w.set_bool("tokenizer.ggml.add_eos_token", false);
  } else if (d.add_eos) {
    w.set_bool("tokenizer.ggml.add_eos_token", true);
  }
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  if (d.reranker) w.set_string("tokenizer.chat_template.rerank", kQwen3RerankTemplate);
}

}  // namespace

void add_qwen3_metadata(GgufWriter& w, const Qwen3Config& c, const VocabData& vocab, const Qwen3GgufDescription& d) {
  w.set_string("general.architecture", "qwen3");
  w.set_string("general.name", d.name);
  w.set_u32("general.file_type", d.file_type);
  if (d.quantized) w.set_u32("general.quantization_version", 2);
  w.set_u32("qwen3.context_length", static_cast<uint32_t>(c.n_ctx));
  w.set_u32("qwen3.embedding_length", static_cast<uint32_t>(c.n_embd));
  w.set_u32("qwen3.block_count", static_cast<uint32_t>(c.n_layer));
  w.set_u32("qwen3.feed_forward_length", static_cast<uint32_t>(c.n_ff));
  w.set_u32("qwen3.attention.head_count", static_cast<uint32_t>(c.n_head));
  w.set_u32("qwen3.attention.head_count_kv", static_cast<uint32_t>(c.n_head_kv));
  w.set_u32("qwen3.attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.set_u32("qwen3.attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.set_f32("qwen3.rope.freq_base", static_cast<float>(c.rope_theta));
  w.set_f32("qwen3.attention.layer_norm_rms_epsilon", c.rms_eps);
  w.set_u32("qwen3.pooling_type", d.reranker ? kPoolingRank : kPoolingLast);
  if (d.reranker) w.set_string_array("qwen3.classifier.output_labels", {"yes", "no"});
  add_tokenizer_metadata(w, vocab, d);
}

}  // namespace qembed::convert
