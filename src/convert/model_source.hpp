#pragma once
// A model's tensors and metadata as `qembed quantize` reads them, whatever the input format: each tensor in its
// stored type (a view into the mapped file, or values computed at open time), and a function that writes the
// GGUF metadata for the output.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "formats/gguf_writer.hpp"

namespace qembed::convert {

struct SourceTensor {
  std::string gguf_name;    //!< name in the output
  GgmlType type;            //!< stored type of `data`
  std::vector<int64_t> ne;  //!< ggml order: ne[0] values per row
  const uint8_t* data;      //!< rows of ggml_row_bytes(type, ne[0]) bytes
  int64_t rows() const {
    int64_t r = 1;
    for (size_t d = 1; d < ne.size(); ++d) r *= ne[d];
    return r;
  }
};

struct DescribeOutput {
  std::string name;  //!< the output's general.name
  uint32_t file_type;
  bool quantized;
};

struct ModelSource {
  std::vector<SourceTensor> tensors;
  int64_t n_layer = 0;
  uint64_t input_bytes = 0;
  //! Writes every metadata key of the output (general.*, qwen3.*, tokenizer.*).
  std::function<void(GgufWriter&, const DescribeOutput&)> write_metadata;
  std::string default_name;           //!< general.name of the input, or the folder's name
  std::shared_ptr<const void> owner;  //!< keeps the mapped file(s) and computed tensors alive
};

//! A GGUF file: every tensor and every metadata key, copied as they are except the file type.
ModelSource open_gguf_source(const std::string& path);
//! A HuggingFace folder, as an embedding model or (reranker) a Qwen3-Reranker whose head becomes
//! cls.output.weight, as llama.cpp's converter writes it.
ModelSource open_hf_source(const std::string& dir, bool reranker);

}  // namespace qembed::convert
