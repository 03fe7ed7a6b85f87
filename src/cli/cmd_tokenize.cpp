// qembed tokenize: exactly the ids the model sees (prompt applied, EOS appended, truncation as for embed).
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "engine/embedding_options.hpp"

namespace qembed::cli {

int cmd_tokenize(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line, or - for stdin (default)"},
      {"output", true, "output JSONL file, or - for stdout (default)"},
      {"help", false, "show this help"},
  };
  for (auto& p : prompt_flag_specs()) specs.push_back(p);
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed tokenize --model M [flags]\n%s", flags_help(specs).c_str());
    return 0;
  }
  PromptChoice prompt = prompt_from_args(args);
  const bool truncate = args.has("truncate");
  std::unique_ptr<Model> model = load_model_from_args(args);
  JsonlReader reader(args.get_or("input", "-"));
  LineWriter writer(args.get_or("output", "-"));
  int64_t index = 0;
  while (std::optional<nlohmann::json> obj = reader.next()) {
    std::vector<int32_t> ids = model->tokenizer->encode(prompt.apply(checked_text(*obj, index)));
    fit_tokens(ids, model->tokenizer->eos_id(), model->append_eos, model->config.n_ctx, truncate, index);
    nlohmann::json out = {{"index", index}, {"tokens", ids}};
    writer.write_line(out.dump());
    ++index;
  }
  writer.flush();
  return 0;
}

}  // namespace qembed::cli
