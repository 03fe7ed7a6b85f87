#pragma once
// What the user asked qembed-make-model for.
#include <cstdint>
#include <optional>
#include <string>

#include "convert/quant_recipe.hpp"
#include "model_spec.hpp"

namespace qembed::model_gen {

struct Options {
  std::string tokenizer_path;
  std::string shape_name = "tiny";
  ModelShape shape;
  std::string format = "gguf";  //!< "gguf" or "hf"
  convert::QuantTarget type;
  int shards = 1;
  bool model_prefix = true;
  bool eos_flag = true;
  //! Set by --reranker (untied by --untied-head); the token ids are filled in once the tokenizer is read.
  std::optional<RerankHead> rerank;
  uint64_t seed = 0;
  std::string out;
  int n_threads = 0;  //!< 0: one per core
};

}  // namespace qembed::model_gen
