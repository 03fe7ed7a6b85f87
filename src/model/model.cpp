// Model::load: picks the loader from what the path is (a folder -> HuggingFace, a GGUF file -> GGUF).
#include "model/model.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "model/model_storage.hpp"

namespace qembed {

std::unique_ptr<Model> load_gguf_model(const std::string& path, ModelRole role);
std::unique_ptr<Model> load_hf_model(const std::string& dir, ModelRole role);

const char* model_role_name(ModelRole role) { return role == ModelRole::kReranker ? "reranker" : "embedding"; }

Model::Model() = default;
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path, ModelRole role) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(path + ": cannot open model: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return load_hf_model(path, role);

  char magic[4] = {};
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) throw Error(path + ": cannot open model: " + std::strerror(errno));
  size_t got = std::fread(magic, 1, 4, fp);
  std::fclose(fp);
  if (got == 4 && std::memcmp(magic, "GGUF", 4) == 0) return load_gguf_model(path, role);
  if (path.size() > 12 && path.ends_with(".safetensors")) {
    throw Error(path + ": a bare .safetensors file has no config or tokenizer; pass the model folder instead");
  }
  throw Error(path + ": not a GGUF file (bad magic) and not a HuggingFace model folder");
}

}  // namespace qembed
