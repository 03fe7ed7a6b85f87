// A GGUF input for qembed quantize: its tensors as views into the mapped file, its metadata copied key by key.
#include <memory>

#include "common/error.hpp"
#include "convert/model_source.hpp"
#include "formats/gguf_reader.hpp"

namespace qembed::convert {

namespace {

// Keys the writer decides for the output: the type it now holds and the data alignment it uses.
bool rewritten_key(const std::string& key) {
  return key == "general.file_type" || key == "general.quantization_version" || key == "general.alignment";
}

}  // namespace

ModelSource open_gguf_source(const std::string& path) {
  std::shared_ptr<const GgufFile> file = GgufFile::open(path);
  const std::string arch = file->get_string("general.architecture").value_or("");
  if (arch != "qwen3") {
    throw Error(path + ": general.architecture is \"" + arch + "\"; qembed quantize reads qwen3 models");
  }
  ModelSource src;
  src.n_layer = file->get_int("qwen3.block_count").value_or(0);
  if (src.n_layer <= 0) throw Error(path + ": qwen3.block_count is missing or not positive");
  src.input_bytes = file->file_size();
  src.default_name = file->get_string("general.name").value_or("");
  for (const GgufTensorInfo& t : file->tensors()) src.tensors.push_back({t.name, t.type, t.ne, t.data});
  src.write_metadata = [file](GgufWriter& w, const DescribeOutput& out) {
    for (const auto& [key, value] : file->metadata()) {
      if (key == "general.name") {
        w.set_string(key, out.name);
      } else if (!rewritten_key(key)) {
        w.set_value(key, value);
      }
    }
    if (!file->find("general.name")) w.set_string("general.name", out.name);
    w.set_u32("general.file_type", out.file_type);
    if (out.quantized) w.set_u32("general.quantization_version", 2);
  };
  src.owner = file;
  return src;
}

}  // namespace qembed::convert
