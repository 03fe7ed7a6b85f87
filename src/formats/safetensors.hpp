#pragma once
// safetensors files and HuggingFace checkpoint folders (config.json, tokenizer.json, one model.safetensors or
// shards listed by model.safetensors.index.json). Headers are validated (JSON, dtypes, shapes vs offsets, offsets vs
// file size) with errors naming the file and tensor.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
  std::unordered_map<std::string, size_t> index_;  // name -> index in tensors_
  void parse();
};

//! Bytes per element of a safetensors dtype ("BF16" -> 2); 0 for an unknown dtype.
size_t safetensors_dtype_bytes(std::string_view dtype);

//! A HuggingFace model folder.
class HfCheckpoint {
 public:
  //! Opens DIR/config.json and the safetensors file(s); throws Error naming the missing or broken file.
  static std::unique_ptr<HfCheckpoint> open(const std::string& dir);
  ~HfCheckpoint();

  const nlohmann::json& config() const;
  //! Finds `name`, also trying it with and without the "model." prefix.
  const SafetensorsTensor* find_tensor(std::string_view name) const;
  //! Every tensor of every shard (order unspecified).
  std::vector<const SafetensorsTensor*> all_tensors() const;
  std::string tokenizer_json_path() const;  //!< DIR/tokenizer.json
  uint64_t total_bytes() const;             //!< sum of the safetensors files' sizes
  size_t n_tensors() const;

 private:
  HfCheckpoint();
  std::string dir_;
  std::unique_ptr<nlohmann::json> config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::unordered_map<std::string, const SafetensorsTensor*> by_name_;
  void add_shard(const std::string& file_name);
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

//! One tensor to write whose bytes `fill(dst)` produces at write time (dst holds product(shape) * dtype bytes),
//! so large checkpoints are written without holding every tensor in memory. Fills run one at a time in order, on a
//! helper thread overlapped with writing the previous tensor.
struct SafetensorsLazyOut {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::function<void(uint8_t* dst)> fill;
};
//! Writes one safetensors file from lazily filled tensors, in the given order; throws Error on I/O failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsLazyOut>& tensors);

}  // namespace qembed
