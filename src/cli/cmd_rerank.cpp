// qembed rerank: one query, JSONL documents in, a relevance score per document out (Qwen3-Reranker). Documents are
// streamed in token-budget groups (cli/line_groups.hpp), each group one rerank request (the query's prompt tokens
// are computed once and reused through the prefix cache by every group), so memory stays bounded by the scores
// however many documents come in.
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

std::vector<FlagSpec> rerank_flags() {
  std::vector<FlagSpec> f = {
      {"model", true, "a Qwen3-Reranker: GGUF file (pooling type rank) or HuggingFace folder"},
      {"query", true, "the query every document is scored against"},
      {"instruction", true, "the task (default: the web-search one of the model card)"},
      {"input", true, "JSONL file with {\"text\": ...} per document, or - for stdin (default)"},
      {"output", true, "output JSONL file, or - for stdout (default)"},
      {"top-n", true, "write only the N best documents, best first (implies --sort)"},
      {"sort", false, "write documents best first instead of in input order"},
      {"no-truncate", false, "a document too long for the limit is an error instead of losing its end"},
      {"max-tokens", true, "per document, template and query included (default: the model's context)"},
      {"threads", true, "compute threads (default: all cores)"},
      {"prefix-cache-mb", true, "MiB of query-prompt keys/values kept for reuse (default 256; 0: off)"},
      {"tokens", false, "add the token ids the model saw (template, query and document) to each line"},
      {"progress", false, "show a progress bar even when stderr is not a terminal"},
      {"help", false, "show this help"},
  };
  for (auto& b : batch_flag_specs()) f.push_back(b);
  return f;
}

//! What a document keeps beside its object until its group is scored.
struct DocExtra {
  bool truncated = false;
  std::vector<int32_t> tokens;  // with --tokens only
};

//! A scored document kept until the end when the output is sorted.
struct Scored {
  int64_t index = 0;
  std::string line;
  double score = 0;
};

std::string score_line(int64_t index, const nlohmann::json& carried, const service::RankScore& s, int64_t n_tokens,
                       bool truncated, const std::vector<int32_t>* tokens) {
  nlohmann::json out = nlohmann::json::object();
  out["index"] = index;
  for (const auto& [k, v] : carried.items()) {
    if (k != "text" && k != "index") out[k] = v;
  }
  out["score"] = s.score;
  out["logit"] = s.logit;
  out["n_tokens"] = n_tokens;
  if (truncated) out["truncated"] = true;
  if (tokens) out["tokens"] = *tokens;
  return out.dump();
}

}  // namespace

int cmd_rerank(int argc, char** argv) {
  const auto specs = rerank_flags();
  Args args(specs, argc, argv, 2);
  if (args.has("help")) {
    std::printf("usage: qembed rerank --model M --query Q [--input docs.jsonl] [flags]\n%s", flags_help(specs).c_str());
    return 0;
  }
  const std::string query = args.require("query");
  if (query.empty()) throw Error("flag --query is empty");
  service::RerankParams params;
  if (auto t = args.get("instruction")) params.instruction = *t;
  params.truncate = !args.has("no-truncate");
  params.truncate_hint = "no --no-truncate";
  params.max_tokens = args.get_int("max-tokens", 0, 8, 1 << 24);
  const int64_t top_n = args.get_int("top-n", 0, 1, int64_t{1} << 40);
  const bool sorted = args.has("sort") || top_n > 0;
  service::ServiceOptions options = service_options_from_args(args);
  options.reranker = true;
  args.require("model");
  JsonlReader reader(args.get_or("input", "-"));
  const int64_t total_lines = reader.count_lines_if_regular();

  std::unique_ptr<service::EmbeddingService> svc = open_service(args, options);
  LineWriter writer(args.get_or("output", "-"));
  Progress progress(args.has("progress") || isatty(2), total_lines);

  const auto t0 = std::chrono::steady_clock::now();  // after the load: what a document costs, not the model file
  std::vector<Scored> kept;  // sorted output: every document's line until the end
  int64_t docs_done = 0, tokens_done = 0;
  const bool with_tokens = args.has("tokens");
  run_line_groups<DocExtra>(
      reader, writer, *svc, options.max_batch_tokens,
      [&](const nlohmann::json& obj, int64_t index, DocExtra& extra) {
        params.first_index = index;
        service::RerankRequest one = svc->encode_rerank(query, {JsonlReader::text_of(obj)}, params);
        extra.truncated = one.truncated[0];
        if (with_tokens) extra.tokens = one.encoded.seqs[0];
        return std::move(one.encoded);
      },
      [&](service::EncodedRequest& req) {
        // Documents encoded one at a time share no prompt ids yet: the group's common prefix is the query's prompt.
        if (req.seqs.size() > 1 && options.prefix_cache_bytes > 0) req.prompt_ids = service::common_prefix(req.seqs);
      },
      [&](const LineGroup<DocExtra>& g, service::EmbedResult result) {
        std::vector<bool> truncated;
        for (const DocExtra& e : g.extras) truncated.push_back(e.truncated);
        service::RerankResult r = service::EmbeddingService::rerank_result(std::move(result), truncated);
        for (size_t j = 0; j < g.objs.size(); ++j) {
          const int64_t index = g.first_index + static_cast<int64_t>(j);
          std::string line = score_line(index, g.objs[j], r.scores[j], r.n_tokens[j], r.truncated[j],
                                        with_tokens ? &g.extras[j].tokens : nullptr);
          if (sorted) {
            kept.push_back({index, std::move(line), r.scores[j].score});
          } else {
            writer.write_line(line);
          }
        }
        docs_done += static_cast<int64_t>(g.objs.size());
        tokens_done += r.total_tokens;
        progress.update(docs_done, tokens_done);
      });
  if (sorted) {
    // Best first; equal scores keep input order.
    std::stable_sort(kept.begin(), kept.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    const size_t n = top_n > 0 ? std::min(kept.size(), static_cast<size_t>(top_n)) : kept.size();
    for (size_t i = 0; i < n; ++i) writer.write_line(kept[i].line);
  }
  writer.flush();
  progress.finish();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char rate[160];
  std::snprintf(rate, sizeof rate, "reranked %lld documents (%lld tokens) in %.3f s: %.2f documents/s",
                static_cast<long long>(docs_done), static_cast<long long>(tokens_done), s, s > 0 ? docs_done / s : 0.0);
  log::info(rate);
  const service::ServiceStats& st = svc->stats();
  log::info("prompt cache: " + std::to_string(st.prefix_inputs_reused_total.load()) + " of " +
            std::to_string(docs_done) + " documents started from the cached query prompt (" +
            std::to_string(st.prefix_tokens_reused_total.load()) + " positions)");
  return 0;
}

}  // namespace qembed::cli
