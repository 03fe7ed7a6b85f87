// qembed embed: JSONL texts in, JSONL vectors out, in input order, streamed in token-budget groups so memory
// stays bounded whatever the input size.
#include <unistd.h>

#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "cli/progress.hpp"
#include "engine/embedder.hpp"
#include "engine/embedding_options.hpp"

namespace qembed::cli {

namespace {

std::vector<FlagSpec> embed_flags() {
  std::vector<FlagSpec> f = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line, or - for stdin (default)"},
      {"output", true, "output JSONL file, or - for stdout (default)"},
      {"dimensions", true, "Matryoshka dimensions: keep the first D, then normalize (32..hidden)"},
      {"no-normalize", false, "return the raw pooled vector (no L2 normalization)"},
      {"threads", true, "compute threads (default: all cores)"},
      {"batch-tokens", true, "tokens per forward batch (default 8192)"},
      {"prefix-cache-mb", true,
       "MiB of prompt keys/values kept so inputs skip their instruction (default 256; 0: off)"},
      {"progress", false, "show a progress bar even when stderr is not a terminal"},
      {"help", false, "show this help"},
  };
  for (auto& p : prompt_flag_specs()) f.push_back(p);
  return f;
}

int64_t count_lines(const std::string& path) {
  if (path == "-") return 0;
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) return 0;
  int64_t n = 0;
  int ch;
  while ((ch = std::fgetc(fp)) != EOF) n += ch == '\n';
  std::fclose(fp);
  return n;
}

}  // namespace

int cmd_embed(int argc, char** argv) {
  const auto specs = embed_flags();
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed embed --model M [flags]\n%s", flags_help(specs).c_str());
    return 0;
  }
  PromptChoice prompt = prompt_from_args(args);
  const bool truncate = args.has("truncate");
  const bool normalize = !args.has("no-normalize");
  std::unique_ptr<Model> model = load_model_from_args(args);
  const int64_t dims = args.get_int("dimensions", 0, 1, 1 << 20);
  check_dimensions(dims, model->config.n_embd);

  EmbedderOptions opt;
  opt.n_threads = static_cast<int>(args.get_int("threads", 0, 1, 1024));
  opt.max_batch_tokens = args.get_int("batch-tokens", 8192, 64, 1 << 20);
  opt.prefix_cache_bytes = args.get_int("prefix-cache-mb", 256, 0, 1 << 20) << 20;
  Embedder embedder(*model, opt);
  prompt.remember(embedder);

  const std::string input = args.get_or("input", "-");
  JsonlReader reader(input);
  LineWriter writer(args.get_or("output", "-"));
  Progress progress(args.has("progress") || isatty(2), count_lines(input));

  int64_t index = 0, tokens_done = 0;
  bool eof = false;
  while (!eof) {
    // Gather one token-budget group of inputs, embed it, write it, repeat.
    std::vector<nlohmann::json> objs;
    std::vector<std::vector<int32_t>> seqs;
    int64_t group_tokens = 0;
    while (group_tokens < opt.max_batch_tokens) {
      std::optional<nlohmann::json> obj = reader.next();
      if (!obj) {
        eof = true;
        break;
      }
      const int64_t i = index + static_cast<int64_t>(objs.size());
      seqs.push_back(embedder.tokenize(prompt.apply(checked_text(*obj, i)), truncate, i));
      group_tokens += static_cast<int64_t>(seqs.back().size());
      objs.push_back(std::move(*obj));
    }
    if (seqs.empty()) break;
    std::vector<std::vector<float>> pooled = embedder.embed(seqs);
    for (size_t j = 0; j < seqs.size(); ++j) {
      std::vector<float> v = finalize_embedding(pooled[j].data(), model->config.n_embd, dims, normalize);
      writer.write_line(embedding_line(index, objs[j], v, static_cast<int64_t>(seqs[j].size())));
      ++index;
    }
    tokens_done += group_tokens;
    progress.update(index, tokens_done);
  }
  writer.flush();
  progress.finish();
  if (prompt.task) {
    const PrefixStats& st = embedder.prefix_stats();
    std::fprintf(stderr, "qembed: prompt cache: %lld of %lld inputs started from the cached prompt (%lld positions)\n",
                 static_cast<long long>(st.inputs_reused), static_cast<long long>(index),
                 static_cast<long long>(st.tokens_reused));
  }
  return 0;
}

}  // namespace qembed::cli
