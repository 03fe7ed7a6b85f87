#include "cli/kb_common.hpp"

#include "cli/input_prep.hpp"
#include "common/error.hpp"

namespace qembed::cli {

std::vector<FlagSpec> kb_base_flags(bool with_model) {
  std::vector<FlagSpec> f = {
      {"db", true, "the knowledge base: a SQLite file (created when missing) or a postgresql:// URL"},
      {"help", false, "show this help"},
  };
  if (with_model) {
    f.push_back({"model", true, "GGUF file or HuggingFace model folder (the collection's model)"});
    f.push_back({"threads", true, "compute threads (default: all cores)"});
    f.push_back({"prefix-cache-mb", true, "MiB of prompt keys/values kept for reuse (default 256; 0: off)"});
    for (auto& b : batch_flag_specs()) f.push_back(b);
  }
  return f;
}

OpenKb open_kb(const Args& args, bool need_model, bool model_optional) {
  const std::string db = args.require("db");
  OpenKb out;
  if (need_model || (model_optional && args.has("model"))) {
    service::ServiceOptions options = service_options_from_args(args);
    out.service = open_service(args, options);
  }
  if (const std::optional<std::string> path = args.get("reranker-model")) {
    service::ServiceOptions options = service_options_from_args(args);
    options.reranker = true;
    out.reranker = service::EmbeddingService::load(*path, options);
  }
  out.kb = kb::open_knowledge_base(db, out.service.get(), {}, out.reranker.get());
  return out;
}

void print_json_line(const nlohmann::json& value) {
  const std::string line = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
    throw IoError("cannot write to stdout");
  }
}

std::optional<Args> parse_kb_args(const std::vector<FlagSpec>& specs, int argc, char** argv, const char* usage,
                                  bool positionals) {
  Args args(specs, argc, argv, 3, positionals);
  if (!args.has("help")) return args;
  std::printf("usage: %s\n%s", usage, flags_help(specs).c_str());
  return std::nullopt;
}

}  // namespace qembed::cli
