#pragma once
// qembed quantize: a Qwen3 embedding model or reranker — a GGUF file or a HuggingFace folder — in, a GGUF file of
// the requested type out, which qembed and llama.cpp both load. Each row is decoded to f32 and encoded with the
// reference quantizers (kernels/quant_blocks.hpp, bit-exact with ggml's); rows of a tensor are encoded on several
// threads while the previous tensor is written.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "convert/quant_recipe.hpp"

namespace qembed::convert {

struct QuantizeOptions {
  std::string input;   //!< GGUF file or HuggingFace folder
  std::string output;  //!< GGUF file; written as OUTPUT.part and renamed when complete
  QuantTarget target;
  bool reranker = false;          //!< an HF folder is read as a Qwen3-Reranker (GGUFs say what they are)
  bool allow_requantize = false;  //!< accept already-quantized input tensors (a second rounding)
  int n_threads = 1;
};

struct QuantizeReport {
  size_t n_tensors = 0;
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  std::map<std::string, int> output_types;  //!< ggml type name -> tensors
  std::vector<std::string> notes;           //!< recipe fallbacks, one line each
};

//! Called after each tensor with the weights written so far and in all.
using QuantizeProgress = std::function<void(uint64_t values_done, uint64_t values_total)>;

//! Throws Error naming the file, the tensor and what is wrong; on failure no file is left under options.output.
QuantizeReport quantize_model(const QuantizeOptions& options, const QuantizeProgress& progress = {});

}  // namespace qembed::convert
