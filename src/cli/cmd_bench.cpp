// qembed bench: offline throughput on a JSONL file after a warm-up; model loading and tokenization excluded.
// --one-at-a-time times each input alone instead (latency: p50/p90/mean ms), as a search query is served.
// A prompt (--prompt-name / --instruction) is cached once, as `embed` and `serve` do.
// The last line is JSON so scripts can compare it with other engines.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "common/error.hpp"
#include "engine/embedder.hpp"
#include "kernels/cpu_features.hpp"

namespace qembed::cli {

int cmd_bench(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line"},
      {"threads", true, "compute threads (default: all cores)"},
      {"batch-tokens", true, "tokens per forward batch (default 8192)"},
      {"one-at-a-time", false, "embed each input alone and report per-input latency"},
      {"help", false, "show this help"},
  };
  for (auto& p : prompt_flag_specs()) specs.push_back(p);
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed bench --model M --input FILE.jsonl [--threads N]\n%s", flags_help(specs).c_str());
    return 0;
  }
  PromptChoice prompt = prompt_from_args(args);
  std::unique_ptr<Model> model = load_model_from_args(args);
  EmbedderOptions opt;
  opt.n_threads = static_cast<int>(args.get_int("threads", 0, 1, 1024));
  opt.max_batch_tokens = args.get_int("batch-tokens", 8192, 64, 1 << 20);
  Embedder embedder(*model, opt);
  prompt.remember(embedder);

  JsonlReader reader(args.require("input"));
  std::vector<std::vector<int32_t>> seqs;
  int64_t tokens = 0;
  while (std::optional<nlohmann::json> obj = reader.next()) {
    int64_t i = static_cast<int64_t>(seqs.size());
    seqs.push_back(embedder.tokenize(prompt.apply(checked_text(*obj, i)), args.has("truncate"), i));
    tokens += static_cast<int64_t>(seqs.back().size());
  }
  if (seqs.empty()) throw Error("bench: the input has no texts");

  // Warm-up: touch every weight page and size the scratch buffers.
  std::vector<std::vector<int32_t>> warm(seqs.begin(), seqs.begin() + std::min<size_t>(2, seqs.size()));
  embedder.embed(warm);

  if (args.has("one-at-a-time")) {
    std::vector<double> ms;
    for (const auto& seq : seqs) {
      auto t0 = std::chrono::steady_clock::now();
      embedder.embed({seq});
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    double total = 0;
    for (double v : ms) total += v;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))]; };
    std::fprintf(stderr,
                 "qembed bench: %zu inputs one at a time, %.1f tokens avg, p50 %.1f ms, p90 %.1f ms, %d threads, "
                 "simd %s\n",
                 seqs.size(), static_cast<double>(tokens) / seqs.size(), pct(0.5), pct(0.9), embedder.n_threads(),
                 simd_level_name(simd_level()));
    std::printf("{\"inputs\": %zu, \"mean_tokens\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"mean_ms\": %.2f}\n",
                seqs.size(), static_cast<double>(tokens) / seqs.size(), pct(0.5), pct(0.9), total / ms.size());
    return 0;
  }

  auto t0 = std::chrono::steady_clock::now();
  embedder.embed(seqs);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double tps = static_cast<double>(tokens) / seconds;
  std::fprintf(stderr, "qembed bench: %zu docs, %lld tokens, %.3f s, %.1f tok/s, %d threads, simd %s\n", seqs.size(),
               static_cast<long long>(tokens), seconds, tps, embedder.n_threads(), simd_level_name(simd_level()));
  std::printf("{\"docs\": %zu, \"tokens\": %lld, \"seconds\": %.4f, \"tok_per_s\": %.2f}\n", seqs.size(),
              static_cast<long long>(tokens), seconds, tps);
  return 0;
}

}  // namespace qembed::cli
