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

#include "../support/generated_models.hpp"
#include "model/model.hpp"
#include "service/embedding_service.hpp"

namespace qembed::service::testing {

using qembed::testing::generated_model;

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
