// qembed bench: offline throughput on a JSONL file after a warm-up, timing the service's embed() of already
// encoded inputs (model loading and tokenization excluded). --one-at-a-time times each input alone instead
// (latency: p50/p90/mean ms), as a search query is served. A prompt (--prompt-name / --instruction) is cached
// once, as `embed` and `serve` do. The last line is JSON so scripts can compare it with other engines.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "common/error.hpp"

namespace qembed::cli {

namespace {

//! "avx512vnni" from "cpu/avx512vnni"; the whole path for other backends.
std::string simd_of(const BackendInfo& b) {
  const std::string& p = b.numeric_path;
  return p.rfind("cpu/", 0) == 0 ? p.substr(4) : p;
}

service::EncodedRequest subset(const service::EncodedRequest& all, size_t first, size_t n) {
  service::EncodedRequest r;
  r.prompt_ids = all.prompt_ids;
  r.dimensions = all.dimensions;
  r.normalize = all.normalize;
  r.first_index = static_cast<int64_t>(first);
  for (size_t i = first; i < first + n; ++i) {
    r.seqs.push_back(all.seqs[i]);
    r.n_tokens += static_cast<int64_t>(all.seqs[i].size());
  }
  return r;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      {"model", true, "GGUF file or HuggingFace model folder"},
      {"input", true, "JSONL file with {\"text\": ...} per line"},
      {"threads", true, "compute threads (default: all cores)"},
      {"one-at-a-time", false, "embed each input alone and report per-input latency"},
      {"help", false, "show this help"},
  };
  for (auto& b : batch_flag_specs()) specs.push_back(b);
  for (auto& p : prompt_flag_specs()) specs.push_back(p);
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed bench --model M --input FILE.jsonl [--threads N]\n%s", flags_help(specs).c_str());
    return 0;
  }
  const service::EmbedParams params = params_from_args(args);
  const service::ServiceOptions options = service_options_from_args(args);
  args.require("model");
  JsonlReader reader(args.require("input"));
  std::unique_ptr<service::EmbeddingService> svc = open_service(args, options);
  svc->warm_prompt(params);

  service::EmbedInputs inputs;
  while (std::optional<nlohmann::json> obj = reader.next()) inputs.texts.push_back(JsonlReader::text_of(*obj));
  if (inputs.texts.empty()) throw Error("bench: the input has no texts");
  const service::EncodedRequest all = svc->encode(inputs, params);
  const size_t n = all.seqs.size();
  const int64_t tokens = all.n_tokens;
  const int threads = svc->model_info().backend.n_threads;
  const std::string simd = simd_of(svc->model_info().backend);

  // Warm-up: touch every weight page and size the scratch buffers.
  svc->embed(subset(all, 0, std::min<size_t>(2, n)));

  if (args.has("one-at-a-time")) {
    std::vector<double> ms;
    for (size_t i = 0; i < n; ++i) {
      service::EncodedRequest one = subset(all, i, 1);
      const auto t0 = std::chrono::steady_clock::now();
      svc->embed(std::move(one));
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    double total = 0;
    for (double v : ms) total += v;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))]; };
    const double mean_tokens = static_cast<double>(tokens) / static_cast<double>(n);
    std::fprintf(stderr,
                 "qembed bench: %zu inputs one at a time, %.1f tokens avg, p50 %.1f ms, p90 %.1f ms, %d threads, "
                 "simd %s\n",
                 n, mean_tokens, pct(0.5), pct(0.9), threads, simd.c_str());
    std::printf("{\"inputs\": %zu, \"mean_tokens\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"mean_ms\": %.2f}\n", n,
                mean_tokens, pct(0.5), pct(0.9), total / static_cast<double>(ms.size()));
    return 0;
  }

  service::EncodedRequest timed = subset(all, 0, n);
  const auto t0 = std::chrono::steady_clock::now();
  svc->embed(std::move(timed));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tps = static_cast<double>(tokens) / seconds;
  std::fprintf(stderr, "qembed bench: %zu docs, %lld tokens, %.3f s, %.1f tok/s, %d threads, simd %s\n", n,
               static_cast<long long>(tokens), seconds, tps, threads, simd.c_str());
  std::printf("{\"docs\": %zu, \"tokens\": %lld, \"seconds\": %.4f, \"tok_per_s\": %.2f}\n", n,
              static_cast<long long>(tokens), seconds, tps);
  return 0;
}

}  // namespace qembed::cli
