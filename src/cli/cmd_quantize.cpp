// qembed quantize: a Qwen3 embedding model or reranker (GGUF file or HuggingFace folder) in, a GGUF file of the
// requested type out — F16, BF16, Q8_0, the 4- to 6-bit types and the Q4_K_M / Q5_K_M mixes — which both qembed
// and llama.cpp load.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "convert/quantize_model.hpp"

namespace qembed::cli {

int cmd_quantize(int argc, char** argv) {
  const std::vector<FlagSpec> specs = {
      {"model", true, "input: GGUF file or HuggingFace folder (F32, F16 or BF16 weights)"},
      {"type", true, std::string("output type: ") + convert::kQuantTargetNames},
      {"out", true, "output GGUF file"},
      {"reranker", false, "read a HuggingFace folder as a Qwen3-Reranker (its head becomes cls.output.weight)"},
      {"allow-requantize", false, "accept quantized input tensors (their values are rounded a second time)"},
      {"threads", true, "encoding threads (default: all cores)"},
      {"progress", false, "show a progress bar even when stderr is not a terminal"},
      {"help", false, "show this help"},
  };
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed quantize --model IN --type TYPE --out OUT.gguf\n%s", flags_help(specs).c_str());
    return 0;
  }
  convert::QuantizeOptions o;
  o.input = args.require("model");
  o.output = args.require("out");
  const std::string type = args.require("type");
  auto target = convert::parse_quant_target(type);
  if (!target) throw Error("--type: unknown type \"" + type + "\"; expected one of " + convert::kQuantTargetNames);
  o.target = *target;
  o.reranker = args.has("reranker");
  o.allow_requantize = args.has("allow-requantize");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.n_threads = static_cast<int>(args.get_int("threads", cores, 1, 1024));

  // The total is known once the input is open: the bar starts at the first tensor written.
  const bool show = args.has("progress") || ::isatty(STDERR_FILENO) != 0;
  std::optional<Progress> bar;
  const auto start = std::chrono::steady_clock::now();
  convert::QuantizeReport r = convert::quantize_model(o, [&](uint64_t done, uint64_t total) {
    if (!bar) bar.emplace(show, static_cast<int64_t>(total / 1000000), "M weights");
    bar->update(static_cast<int64_t>(done / 1000000), 0);
  });
  if (bar) bar->finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& note : r.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::string types;
  for (const auto& [name, n] : r.output_types) types += (types.empty() ? "" : ", ") + std::to_string(n) + " " + name;
  std::fprintf(stderr, "wrote %s: %s, %zu tensors (%s), %.1f MB from %.1f MB in %.1f s\n", o.output.c_str(),
               o.target.name.c_str(), r.n_tensors, types.c_str(), r.output_bytes / 1e6, r.input_bytes / 1e6, seconds);
  return 0;
}

}  // namespace qembed::cli
