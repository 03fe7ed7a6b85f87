#pragma once
// What keeps a Model's weight views alive: the open GGUF file or HF checkpoint.
#include <memory>
#include <vector>

#include "formats/gguf_reader.hpp"
#include "formats/safetensors.hpp"
#include "kernels/int8_weights.hpp"
#include "model/model.hpp"

namespace qembed {

struct Model::Storage {
  std::unique_ptr<GgufFile> gguf;
  std::unique_ptr<HfCheckpoint> hf;
  std::vector<std::unique_ptr<Int8Weights>> int8;  //!< repacked layer matrices (repack_for_cpu)
};

}  // namespace qembed
