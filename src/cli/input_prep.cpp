#include "cli/input_prep.hpp"

#include <chrono>
#include <cstdio>

#include "common/error.hpp"
#include "engine/embedding_options.hpp"

namespace qembed::cli {

std::vector<FlagSpec> prompt_flag_specs() {
  return {
      {"instruction", true, "format each input as 'Instruct: TASK\\nQuery:TEXT' (queries)"},
      {"prompt-name", true, "query (default Qwen3 query instruction) or document (no prompt)"},
      {"truncate", false, "keep the first tokens of inputs over the context (still ending in EOS)"},
  };
}

std::string PromptChoice::apply(const std::string& text) const { return task ? format_instruction(*task, text) : text; }

void PromptChoice::remember(Embedder& embedder) const {
  if (!task || !embedder.prefix_cache().enabled()) return;
  embedder.remember_prefix(embedder.model().tokenizer->encode(apply("")));
}

const std::string& checked_text(const nlohmann::json& obj, int64_t input_index) {
  const std::string& text = obj.at("text").get_ref<const std::string&>();
  if (text.empty()) throw Error("input " + std::to_string(input_index) + ": empty text");
  return text;
}

PromptChoice prompt_from_args(const Args& args) {
  if (args.has("instruction") && args.has("prompt-name")) {
    throw Error("--instruction and --prompt-name are mutually exclusive");
  }
  PromptChoice p;
  if (auto t = args.get("instruction")) {
    if (t->empty()) throw Error("--instruction must not be empty");
    p.task = *t;
  } else if (auto name = args.get("prompt-name")) {
    p.task = task_for_prompt_name(*name);
  }
  return p;
}

std::unique_ptr<Model> load_model_from_args(const Args& args) {
  std::string path = args.require("model");
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Model> model = Model::load(path);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "qembed: loaded %s (%s, %lld layers, %lld dims) in %.0f ms\n", path.c_str(),
               model->format.c_str(), static_cast<long long>(model->config.n_layer),
               static_cast<long long>(model->config.n_embd), ms);
  return model;
}

}  // namespace qembed::cli
