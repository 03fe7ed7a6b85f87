#pragma once
// What keeps a Model's weight views alive: the open GGUF file or HF checkpoint.
#include <memory>

#include "formats/gguf_reader.hpp"
#include "formats/safetensors.hpp"
#include "model/model.hpp"

namespace qembed {

struct Model::Storage {
  std::unique_ptr<GgufFile> gguf;
  std::unique_ptr<HfCheckpoint> hf;
};

}  // namespace qembed
