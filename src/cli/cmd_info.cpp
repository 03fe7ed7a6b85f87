// qembed info: what a model is and how this machine will compute it (the service's ModelInfo), computing nothing.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"

namespace qembed::cli {

int cmd_info(int argc, char** argv) {
  const std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"threads", true, "compute threads the backend would use (default: all cores)"},
      {"json", false, "print one JSON object instead of text"},
      {"reranker", false, "load the model as a Qwen3-Reranker (as qembed rerank and serve --reranker-model do)"},
      {"help", false, "show this help"},
  };
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed info --model M [--json]\n%s", flags_help(specs).c_str());
    return 0;
  }
  service::ServiceOptions options = service_options_from_args(args);
  options.prefix_cache_bytes = 0;
  options.reranker = args.has("reranker");
  std::unique_ptr<service::EmbeddingService> svc = open_service(args, options);
  const service::ModelInfo& m = svc->model_info();
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, n] : m.tensor_types) types[name] = n;
  const std::string& path = m.backend.numeric_path;
  nlohmann::json j = {
      {"id", m.id},
      {"path", m.path},
      {"name", m.name},
      {"format", m.format},
      {"architecture", m.architecture},
      {"role", m.role},
      {"embedding_dims", m.n_embd},
      {"layers", m.n_layer},
      {"heads", m.n_head},
      {"kv_heads", m.n_head_kv},
      {"head_dim", m.head_dim},
      {"ffn_dims", m.n_ff},
      {"context_length", m.n_ctx},
      {"vocab_size", m.n_vocab},
      {"tokenizer_tokens", m.tokenizer_tokens},
      {"parameters", m.n_params},
      {"rope_theta", m.rope_theta},
      {"rms_eps", m.rms_eps},
      {"pooling", options.reranker ? "rank (yes/no logits at the last token)" : "last (EOS)"},
      {"appends_eos", m.appends_eos},
      {"dtype", m.dtype},
      {"tensor_types", types},
      {"file_bytes", m.file_bytes},
      {"fingerprint", m.fingerprint},
      {"backend", m.backend.name},
      {"threads", m.backend.n_threads},
      // What decides a result's last bits: backend and SIMD level (e.g. "cpu/avx512vnni").
      {"numeric_path", path},
      {"simd", path.rfind("cpu/", 0) == 0 ? path.substr(4) : ""},
      // Weights rewritten at load for this backend's kernels (int8 copies of quantized matrices on AVX-512 VNNI).
      {"repacked_bytes", m.backend.prepared_bytes},
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
  std::printf("%-18s %.1f MiB\n", "file_size", static_cast<double>(m.file_bytes) / (1 << 20));
  return 0;
}

}  // namespace qembed::cli
