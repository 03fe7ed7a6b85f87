#pragma once
// The metadata a Qwen3 GGUF carries for llama.cpp and qembed to load it: qwen3.* hyper-parameters, the pooling type,
// and the tokenizer (gpt2 BPE vocabulary, merges, token types, EOS). A reranker is described the way llama.cpp's
// converter writes Qwen3-Reranker: rank pooling, labels ["yes", "no"] and the rerank prompt template.
#include <string>

#include "formats/gguf_writer.hpp"
#include "model/qwen3_config.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::convert {

//! The prompt llama.cpp's converter stores for Qwen3-Reranker; {query} and {document} are filled in by the caller.
extern const char* const kQwen3RerankTemplate;

struct Qwen3GgufDescription {
  std::string name;        //!< general.name
  uint32_t file_type = 0;  //!< general.file_type (llama_ftype)
  bool quantized = false;  //!< writes general.quantization_version
  bool reranker = false;   //!< rank pooling + labels + template; last-token pooling otherwise
  bool add_eos = true;     //!< tokenizer.ggml.add_eos_token for an embedding model (never for a reranker)
};

//! Sets general.*, qwen3.* and tokenizer.* keys for a model of hyper-parameters `c` and vocabulary `vocab`.
void add_qwen3_metadata(GgufWriter& w, const Qwen3Config& c, const VocabData& vocab, const Qwen3GgufDescription& d);

}  // namespace qembed::convert
