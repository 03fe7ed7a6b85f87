// qembed embed: JSONL texts in, JSONL vectors out, in input order, streamed in token-budget groups
// (cli/line_groups.hpp), so memory stays bounded whatever the input size.
#include <unistd.h>

#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "cli/line_groups.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::cli {

namespace {

std::vector<FlagSpec> embed_flags() {
  std::vector<FlagSpec> f = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line, or - for stdin (default); a pipe works too"},
      {"output", true, "output JSONL file, or - for stdout (default)"},
      {"dimensions", true, "Matryoshka dimensions: keep the first D, then normalize (32..hidden)"},
      {"no-normalize", false, "return the raw pooled vector (no L2 normalization)"},
      {"threads", true, "compute threads (default: all cores)"},
      {"prefix-cache-mb", true,
       "MiB of prompt keys/values kept so inputs skip their instruction (default 256; 0: off)"},
      {"progress", false, "show a progress bar even when stderr is not a terminal"},
      {"help", false, "show this help"},
  };
  for (auto& b : batch_flag_specs()) f.push_back(b);
  for (auto& p : prompt_flag_specs()) f.push_back(p);
  return f;
}

//! Nothing is kept per line beyond its object.
struct NoExtra {};

}  // namespace

int cmd_embed(int argc, char** argv) {
  const auto specs = embed_flags();
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed embed --model M [flags]\n%s", flags_help(specs).c_str());
    return 0;
  }
  // Everything the user typed is checked before the (possibly multi-GB) model loads.
  const service::EmbedParams params = params_from_args(args);
  const service::ServiceOptions options = service_options_from_args(args);
  args.require("model");
  JsonlReader reader(args.get_or("input", "-"));
  const int64_t total_lines = reader.count_lines_if_regular();

  std::unique_ptr<service::EmbeddingService> svc = open_service(args, options);
  service::check_dimensions(params.dimensions, svc->model_info().n_embd);
  svc->warm_prompt(params);
  LineWriter writer(args.get_or("output", "-"));
  Progress progress(args.has("progress") || isatty(2), total_lines);

  int64_t docs_done = 0, tokens_done = 0;
  service::EmbedInputs inputs;
  run_line_groups<NoExtra>(
      reader, writer, *svc, options.max_batch_tokens,
      [&](const nlohmann::json& obj, int64_t index, NoExtra&) {
        inputs.texts.assign(1, JsonlReader::text_of(obj));
        inputs.first_index = index;
        return svc->encode(inputs, params);
      },
      [](service::EncodedRequest&) {},
      [&](const LineGroup<NoExtra>& g, service::EmbedResult r) {
        for (size_t j = 0; j < g.objs.size(); ++j) {
          writer.write_line(
              embedding_line(g.first_index + static_cast<int64_t>(j), g.objs[j], r.vectors[j], r.n_tokens[j]));
        }
        docs_done += static_cast<int64_t>(g.objs.size());
        tokens_done += g.n_tokens;
        progress.update(docs_done, tokens_done);
      });
  writer.flush();
  progress.finish();
  if (!svc->prompt_text(params).empty()) {
    const service::ServiceStats& st = svc->stats();
    log::info("prompt cache: " + std::to_string(st.prefix_inputs_reused_total.load()) + " of " +
              std::to_string(docs_done) + " inputs started from the cached prompt (" +
              std::to_string(st.prefix_tokens_reused_total.load()) + " positions)");
  }
  return 0;
}

}  // namespace qembed::cli
