// qembed tokenize: exactly the ids the model sees — the service's encode(): prompt applied, EOS appended, the
// per-input limit and truncation as for embed.
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"

namespace qembed::cli {

int cmd_tokenize(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line, or - for stdin (default); a pipe works too"},
      {"output", true, "output JSONL file, or - for stdout (default)"},
      {"help", false, "show this help"},
  };
  for (auto& p : prompt_flag_specs()) specs.push_back(p);
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed tokenize --model M [flags]\n%s", flags_help(specs).c_str());
    return 0;
  }
  const service::EmbedParams params = params_from_args(args);
  service::ServiceOptions options = service_options_from_args(args);
  options.backend.n_threads = 1;  // nothing is computed
  options.prefix_cache_bytes = 0;
  args.require("model");
  JsonlReader reader(args.get_or("input", "-"));
  std::unique_ptr<service::EmbeddingService> svc = open_service(args, options);
  LineWriter writer(args.get_or("output", "-"));
  service::EmbedInputs inputs;
  inputs.texts.resize(1);
  while (std::optional<nlohmann::json> obj = reader.next()) {
    inputs.texts[0] = JsonlReader::text_of(*obj);
    const service::EncodedRequest req = svc->encode(inputs, params);
    nlohmann::json out = {{"index", inputs.first_index}, {"tokens", req.seqs[0]}};
    writer.write_line(out.dump());
    ++inputs.first_index;
  }
  writer.flush();
  return 0;
}

}  // namespace qembed::cli
