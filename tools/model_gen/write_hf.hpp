#pragma once
// A synthetic Qwen3 embedding model (Qwen3Model) or reranker (Qwen3ForCausalLM) as a HuggingFace folder:
// config.json, tokenizer.json (copied), one model.safetensors or N shards with model.safetensors.index.json, and
// SYNTHETIC.txt.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "formats/safetensors.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "tensor_fill.hpp"

namespace qembed::model_gen {

inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write");
}

inline nlohmann::ordered_json hf_config(const Options& o) {
  const ModelShape& s = o.shape;
  const char* dtype = o.type.base == GgmlType::F32 ? "float32" : o.type.base == GgmlType::F16 ? "float16" : "bfloat16";
  const bool reranker = o.rerank.has_value(), untied = reranker && o.rerank->untied;
  return {{"architectures", {reranker ? "Qwen3ForCausalLM" : "Qwen3Model"}},
          {"model_type", "qwen3"},
          {"hidden_size", s.n_embd},
          {"num_hidden_layers", s.n_layer},
          {"num_attention_heads", s.n_head},
          {"num_key_value_heads", s.n_head_kv},
          {"head_dim", s.head_dim},
          {"intermediate_size", s.n_ff},
          {"vocab_size", s.n_vocab},
          {"max_position_embeddings", s.n_ctx},
          {"rope_theta", s.rope_theta},
          {"rms_norm_eps", s.rms_eps},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"tie_word_embeddings", !untied},
          {"bos_token_id", 151643},
          {"eos_token_id", 151643},
          {"torch_dtype", dtype},
          {"qembed_synthetic", true}};
}

inline const char* synthetic_note(bool reranker) {
  if (reranker) {
    return "This folder was written by qembed-make-model.\n"
           "It has the layout and tokenizer of a Qwen3-Reranker model, but its weights are seeded random numbers:\n"
           "the scores it produces carry no meaning. Use it only to test loaders, kernels and plumbing.\n";
  }
  return "This folder was written by qembed-make-model.\n"
         "It has the layout and tokenizer of a Qwen3-Embedding model, but its weights are seeded random numbers:\n"
         "the vectors it produces carry no meaning. Use it only to test loaders, kernels and plumbing.\n";
}

inline void write_hf_model(const Options& o) {
  namespace fs = std::filesystem;
  const fs::path dir(o.out);
  fs::create_directories(dir);
  write_text_file(dir / "config.json", hf_config(o).dump(2) + "\n");
  fs::copy_file(o.tokenizer_path, dir / "tokenizer.json", fs::copy_options::overwrite_existing);
  write_text_file(dir / "SYNTHETIC.txt", synthetic_note(o.rerank.has_value()));

  const std::string dtype = ggml_type_info(o.type.base).name;  // "F32", "F16", "BF16" match safetensors names
  const std::string prefix = o.model_prefix ? "model." : "";
  auto specs = std::make_shared<std::vector<TensorSpec>>(qwen3_tensors(o.shape, o.rerank));
  std::erase_if(*specs, [](const TensorSpec& t) { return !t.in_hf; });
  auto progress = std::make_shared<Progress>(specs->size());
  auto pool = std::make_shared<ThreadPool>(o.n_threads);  // fills run one at a time: they share it

  // Contiguous runs of tensors, cut when a shard passes total / shards bytes; a shard advances by one at a time
  // and never starves the later ones (token_embd alone may be most of the bytes), so no shard is empty.
  uint64_t total = 0;
  for (const auto& t : *specs) total += ggml_row_bytes(o.type.base, t.cols) * static_cast<uint64_t>(t.rows);
  std::vector<std::vector<SafetensorsLazyOut>> shards(static_cast<size_t>(o.shards));
  uint64_t so_far = 0;
  size_t shard = 0;
  for (size_t k = 0; k < specs->size(); ++k) {
    const TensorSpec& t = (*specs)[k];
    const size_t n_shards = shards.size(), left = specs->size() - k;
    if (!shards[shard].empty() && (so_far * n_shards / total > shard || left <= n_shards - 1 - shard)) ++shard;
    so_far += ggml_row_bytes(o.type.base, t.cols) * static_cast<uint64_t>(t.rows);
    std::vector<int64_t> shape = t.is_vector ? std::vector<int64_t>{t.cols} : std::vector<int64_t>{t.rows, t.cols};
    const TensorSpec* tp = &t;
    const GgmlType type = o.type.base;
    shards[shard].push_back(
        {(t.hf_top_level ? "" : prefix) + t.hf_name, dtype, shape, [&o, tp, type, progress, pool](uint8_t* dst) {
           fill_tensor(o.seed, *tp, type, dst, *pool);
           progress->step(tp->hf_name, ggml_type_info(type).name);  // prefix-free name
         }});
  }
  if (shards.size() == 1) {
    write_safetensors((dir / "model.safetensors").string(), shards[0]);
    return;
  }
  nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", nlohmann::ordered_json::object()}};
  char name[64];
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    for (const auto& t : shards[i]) index["weight_map"][t.name] = name;
    write_safetensors((dir / name).string(), shards[i]);
  }
  write_text_file(dir / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace qembed::model_gen
