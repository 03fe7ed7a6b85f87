// qembed embed: JSONL texts in, JSONL vectors out, in input order. Inputs are read in token-budget groups, each
// group one request to the embedding service; the next group is read and tokenized while the previous one
// computes, and at most two groups are in flight, so memory stays bounded whatever the input size.
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <future>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
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

//! One group of input lines submitted to the service.
struct Group {
  int64_t first_index = 0;
  std::vector<nlohmann::json> objs;  // the input objects, for their carried fields
  int64_t n_tokens = 0;
  std::future<service::EmbedResult> result;
};

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

  std::deque<Group> in_flight;
  int64_t next_index = 0, docs_done = 0, tokens_done = 0;
  auto write_oldest = [&] {
    Group& g = in_flight.front();
    const service::EmbedResult r = g.result.get();
    for (size_t j = 0; j < g.objs.size(); ++j) {
      writer.write_line(
          embedding_line(g.first_index + static_cast<int64_t>(j), g.objs[j], r.vectors[j], r.n_tokens[j]));
    }
    docs_done += static_cast<int64_t>(g.objs.size());
    tokens_done += g.n_tokens;
    progress.update(docs_done, tokens_done);
    in_flight.pop_front();
  };
  for (;;) {
    // Read lines until the group holds about one batch of tokens (counted once tokenized).
    Group g;
    g.first_index = next_index;
    service::EmbedInputs inputs;
    inputs.first_index = next_index;
    std::optional<service::EncodedRequest> req;
    try {
      while (g.n_tokens < options.max_batch_tokens) {
        std::optional<nlohmann::json> obj = reader.next();
        if (!obj) break;
        inputs.texts.assign(1, JsonlReader::text_of(*obj));
        inputs.first_index = next_index + static_cast<int64_t>(g.objs.size());
        service::EncodedRequest one = svc->encode(inputs, params);
        if (!req) {
          req = std::move(one);
          req->first_index = g.first_index;
        } else {
          req->seqs.push_back(std::move(one.seqs[0]));
          req->n_tokens += one.n_tokens;
        }
        g.n_tokens = req->n_tokens;
        g.objs.push_back(std::move(*obj));
      }
    } catch (const Error&) {
      while (!in_flight.empty()) write_oldest();  // what came before the bad line is written first
      writer.flush();
      throw;
    }
    if (g.objs.empty()) break;
    next_index += static_cast<int64_t>(g.objs.size());
    g.result = submit_group(*svc, std::move(*req));
    in_flight.push_back(std::move(g));
    if (in_flight.size() > 1) write_oldest();
  }
  while (!in_flight.empty()) write_oldest();
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
