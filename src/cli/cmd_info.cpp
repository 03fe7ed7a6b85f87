// qembed info: what a model file is, without computing anything.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "kernels/cpu_features.hpp"

namespace qembed::cli {

namespace {
// An f32 hyper-parameter as the double with the same shortest decimal form (1e-06, not 9.99999997e-07).
double shortest_double(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}
}  // namespace

int cmd_info(int argc, char** argv) {
  const std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"json", false, "print one JSON object instead of text"},
      {"help", false, "show this help"},
  };
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed info --model M [--json]\n%s", flags_help(specs).c_str());
    return 0;
  }
  std::unique_ptr<Model> model = load_model_from_args(args);
  const Qwen3Config& c = model->config;
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, n] : model->tensor_type_counts) types[name] = n;
  nlohmann::json j = {
      {"path", model->path},
      {"name", model->name},
      {"format", model->format},
      {"architecture", model->architecture},
      {"embedding_dims", c.n_embd},
      {"layers", c.n_layer},
      {"heads", c.n_head},
      {"kv_heads", c.n_head_kv},
      {"head_dim", c.head_dim},
      {"ffn_dims", c.n_ff},
      {"context_length", c.n_ctx},
      {"vocab_size", c.n_vocab},
      {"tokenizer_tokens", model->tokenizer->n_vocab()},
      {"rope_theta", c.rope_theta},
      {"rms_eps", shortest_double(c.rms_eps)},
      {"pooling", "last (EOS)"},
      {"appends_eos", model->append_eos},
      {"tensor_types", types},
      {"file_bytes", model->file_bytes},
      {"simd", simd_level_name(simd_level())},
      // Weights repacked at load for this CPU's kernels (int8 copies of quantized matrices on AVX-512 VNNI).
      {"repacked_bytes", model->repacked_bytes},
  };
  if (args.has("json")) {
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = it.key();
    key.resize(18, ' ');
    std::string value = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    std::printf("%s %s\n", key.c_str(), value.c_str());
  }
  std::printf("%-18s %.1f MiB\n", "file_size", static_cast<double>(model->file_bytes) / (1 << 20));
  return 0;
}

}  // namespace qembed::cli
