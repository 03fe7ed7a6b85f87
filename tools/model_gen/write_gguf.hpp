#pragma once
// A synthetic Qwen3 embedding model as a GGUF file llama.cpp can load: the metadata qembed quantize writes
// (convert/qwen3_gguf_metadata.hpp), the tensor table from model_spec.hpp, and the same quantization recipe
// (convert/quant_recipe.hpp). A reranker gets cls.output.weight holding the LM head's rows of "yes" and "no".
#include <iostream>
#include <memory>
#include <string>

#include "convert/quant_recipe.hpp"
#include "convert/qwen3_gguf_metadata.hpp"
#include "formats/gguf_writer.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "tensor_fill.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::model_gen {

inline void write_gguf_model(const Options& o, const VocabData& vocab) {
  const ModelShape& s = o.shape;
  GgufWriter w;
  const bool reranker = o.rerank.has_value();
  Qwen3Config c;
  c.n_embd = s.n_embd, c.n_layer = s.n_layer, c.n_head = s.n_head, c.n_head_kv = s.n_head_kv;
  c.head_dim = s.head_dim, c.n_ff = s.n_ff, c.n_vocab = s.n_vocab, c.n_ctx = s.n_ctx;
  c.rope_theta = s.rope_theta, c.rms_eps = s.rms_eps;
  convert::add_qwen3_metadata(
      w, c, vocab,
      {.name = reranker ? "qembed synthetic reranker (random weights)" : "qembed synthetic demo (random weights)",
       .file_type = o.type.file_type,
       .quantized = o.type.mix || ggml_type_info(o.type.base).block_values > 1,
       .reranker = reranker,
       .add_eos = o.eos_flag});

  auto specs = std::make_shared<std::vector<TensorSpec>>(qwen3_tensors(s, o.rerank));
  std::erase_if(*specs, [](const TensorSpec& t) { return !t.in_gguf; });
  auto progress = std::make_shared<Progress>(specs->size());
  auto pool = std::make_shared<ThreadPool>(o.n_threads);  // fills run one at a time: they share it
  for (const TensorSpec& t : *specs) {
    const convert::TensorTypeChoice choice =
        convert::choose_tensor_type(o.type, t.gguf_name, t.is_vector ? 1 : 2, t.cols, s.n_layer);
    if (!choice.note.empty()) std::cerr << "note: " << choice.note << "\n";
    const GgmlType type = choice.type;
    std::vector<int64_t> ne = t.is_vector ? std::vector<int64_t>{t.cols} : std::vector<int64_t>{t.cols, t.rows};
    const TensorSpec* tp = &t;
    w.add_tensor(t.gguf_name, type, ne, [&o, tp, type, progress, pool](uint8_t* dst) {
      fill_tensor(o.seed, *tp, type, dst, *pool);
      progress->step(tp->gguf_name, ggml_type_info(type).name);
    });
  }
  w.write(o.out);
}

}  // namespace qembed::model_gen
