#include "cli/input_prep.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kernels/cpu_features.hpp"

namespace qembed::cli {

std::vector<FlagSpec> prompt_flag_specs() {
  return {
      {"instruction", true, "format each input as 'Instruct: TASK\\nQuery:TEXT' (queries)"},
      {"prompt-name", true, "query (default Qwen3 query instruction) or document (no prompt)"},
      {"truncate", false, "cut inputs over the context instead of failing (see --truncation-direction)"},
      {"truncation-direction", true, "right (default: keep the first tokens) or left (keep the last); EOS stays last"},
  };
}

std::vector<FlagSpec> batch_flag_specs() {
  return {
      {"max-batch-tokens", true, "tokens per forward batch (default 8192)"},
      {"batch-tokens", true, "alias of --max-batch-tokens"},
  };
}

service::EmbedParams params_from_args(const Args& args) {
  service::EmbedParams p;
  p.instruction = args.get("instruction");
  p.prompt_name = args.get("prompt-name");
  try {
    service::resolve_prompt(p.prompt_name, p.instruction, "", {});  // checked now: the model is not needed
  } catch (const Error& e) {
    throw Error(std::string("--prompt-name/--instruction: ") + e.what());
  }
  p.truncate = args.has("truncate");
  p.truncate_hint = "--truncate";
  if (auto dir = args.get("truncation-direction")) {
    const std::optional<service::TruncationSide> side = service::parse_truncation_side(*dir);
    if (!side) throw Error("flag --truncation-direction must be left or right, got \"" + *dir + "\"");
    p.truncation_side = *side;
  }
  p.dimensions = args.get_int("dimensions", 0, 1, 1 << 20);
  p.normalize = !args.has("no-normalize");
  return p;
}

service::ServiceOptions service_options_from_args(const Args& args) {
  service::ServiceOptions o;
  o.backend.n_threads = static_cast<int>(args.get_int("threads", 0, 1, 1024));
  if (args.has("max-batch-tokens") && args.has("batch-tokens")) {
    throw Error("--batch-tokens is an alias of --max-batch-tokens: give one of them");
  }
  const std::string batch_flag = args.has("batch-tokens") ? "batch-tokens" : "max-batch-tokens";
  o.max_batch_tokens = args.get_int(batch_flag, 8192, 64, 1 << 20);
  o.prefix_cache_bytes = args.get_int("prefix-cache-mb", 256, 0, 1 << 20) << 20;
  o.max_queue_tokens = std::numeric_limits<int64_t>::max() / 4;
  o.max_queue_inputs = std::numeric_limits<int64_t>::max() / 4;
  // One client that wants throughput: no scheduling classes, whole-layer steps, batches as the CLI groups them.
  o.interactive_max_tokens = 0;
  o.max_step_ms = 0;
  o.max_batch_ms = 0;
  return o;
}

std::unique_ptr<service::EmbeddingService> open_service(const Args& args, const service::ServiceOptions& options) {
  const std::string path = args.require("model");
  const auto t0 = std::chrono::steady_clock::now();
  auto svc = service::EmbeddingService::load(path, options);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const service::ModelInfo& m = svc->model_info();
  log::info("loaded " + path + " (" + m.format + ", " + std::to_string(m.n_layer) + " layers, " +
            std::to_string(m.n_embd) + " dims) in " + std::to_string(static_cast<int64_t>(ms + 0.5)) + " ms");
  return svc;
}

std::future<service::EmbedResult> submit_group(service::EmbeddingService& svc, service::EncodedRequest req) {
  auto promise = std::make_shared<std::promise<service::EmbedResult>>();
  std::future<service::EmbedResult> future = promise->get_future();
  const service::Admission a = svc.submit(std::move(req), [promise](service::EmbedResult result, const Error* error) {
    if (error) {
      promise->set_exception(std::make_exception_ptr(Error(error->what(), error->kind())));
    } else {
      promise->set_value(std::move(result));
    }
  });
  if (a != service::Admission::kQueued) throw InternalError("the service refused a group of inputs");
  return future;
}

void check_environment() {
  if (const std::string e = simd_env_error(); !e.empty()) throw Error(e);
  if (const char* level = std::getenv("QEMBED_LOG_LEVEL"); level && *level) {
    try {
      log::parse_level(level);
    } catch (const Error& e) {
      throw Error(std::string("QEMBED_LOG_LEVEL: ") + e.what());
    }
  }
}

}  // namespace qembed::cli
