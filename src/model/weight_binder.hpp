#pragma once
// Binds the Qwen3 weight roles to tensors found in a file, checking every shape against the hyper-parameters.
// Shared by the GGUF and HuggingFace loaders, which differ only in how they find a tensor.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "model/model.hpp"
#include "model/qwen3_tensors.hpp"

namespace qembed {

//! A tensor as the loaders see it, in ggml order: ne[0] is the fastest dimension (a Linear weight is {in, out}).
struct TensorSource {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
};

//! Finds a tensor by its GGUF name (first argument) or HF name (second); nullopt when absent.
using TensorFinder =
    std::function<std::optional<TensorSource>(const std::string& gguf_name, const std::string& hf_name)>;

//! Fills model.token_embd, layers and output_norm (model.config must be set). Throws Error prefixed by `where`
//! naming the missing or mis-shaped tensor.
void bind_qwen3_weights(Model& model, const TensorFinder& find, const std::string& where);

//! Row `row` of a 2-D tensor whose ggml shape must be {n_in, n_rows}, in f32 (a reranker's head rows). Throws Error
//! prefixed by `where` naming the tensor when its shape, type or size is wrong.
std::vector<float> tensor_row_f32(const TensorSource& t, int64_t n_in, int64_t n_rows, int64_t row,
                                  const std::string& where);

}  // namespace qembed
