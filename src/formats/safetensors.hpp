#pragma once
// safetensors files and HuggingFace checkpoint folders (config.json, tokenizer.json, one model.safetensors or
// shards listed by model.safetensors.index.json). Headers are validated (JSON, dtypes, shapes vs offsets, offsets vs
// file size) with errors naming the file and tensor.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "formats/mapped_file.hpp"

namespace qembed {

//! One tensor of a safetensors file. shape is in PyTorch order (outermost first): a Linear weight is {out, in}.
struct SafetensorsTensor {
  std::string name;
  std::string dtype;  //!< "F32", "F16", "BF16" (others are rejected when used as weights)
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
};

class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;
  size_t file_size() const { return file_->size(); }

 private:
  std::unique_ptr<MappedFile> file_;
  std::vector<SafetensorsTensor> tensors_;
};

//! A HuggingFace model folder.
class HfCheckpoint {
 public:
  //! Opens DIR/config.json and the safetensors file(s); throws Error naming the missing or broken file.
  static std::unique_ptr<HfCheckpoint> open(const std::string& dir);
  ~HfCheckpoint();

  const nlohmann::json& config() const;
  //! Finds `name`, also trying it with and without the "model." prefix.
  const SafetensorsTensor* find_tensor(std::string_view name) const;
  std::string tokenizer_json_path() const;  //!< DIR/tokenizer.json
  uint64_t total_bytes() const;             //!< sum of the safetensors files' sizes
  size_t n_tensors() const;

 private:
  HfCheckpoint();
  std::string dir_;
  std::unique_ptr<nlohmann::json> config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
};

//! One tensor to write: bytes already in `dtype`.
struct SafetensorsOut {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
//! Writes one safetensors file; throws Error on I/O failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsOut>& tensors);

}  // namespace qembed
