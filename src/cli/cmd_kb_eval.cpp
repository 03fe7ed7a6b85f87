// qembed kb eval: retrieval quality of a collection on labelled data in the BEIR layout (corpus.jsonl,
// queries.jsonl, qrels.tsv). The files are read and checked before the model loads; the corpus is ingested into the
// collection (created with default settings when missing), every judged query is searched in each mode, and one
// JSON object goes to stdout: the metrics of one mode with --mode, else one object per mode. Progress and warnings
// go to stderr. docs/kb.md, "Evaluation", defines the metrics.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "cli/kb_common.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "kb/eval.hpp"
#include "kb/knowledge_base.hpp"

namespace qembed::cli {

namespace {

std::vector<FlagSpec> kb_eval_flags() {
  std::vector<FlagSpec> f = kb_base_flags(true);
  const std::vector<FlagSpec> own = {
      {"collection", true, "collection to ingest the corpus into and search (created when missing)"},
      {"corpus", true, "corpus.jsonl: {\"_id\", \"title\" (optional), \"text\"} per line"},
      {"queries", true, "queries.jsonl: {\"_id\", \"text\"} per line"},
      {"qrels", true, "qrels.tsv: query-id<TAB>corpus-id<TAB>score per line (header optional)"},
      {"mode", true, "vector, keyword or hybrid (default: all three, one object keyed by mode)"},
      {"progress", false, "show progress even when stderr is not a terminal"},
  };
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

nlohmann::json mode_json(const kb::ModeReport& mode, const kb::EvalReport& report) {
  nlohmann::json j;
  j["ndcg@10"] = mode.metrics.ndcg_at_10;
  j["recall@10"] = mode.metrics.recall_at_10;
  j["recall@100"] = mode.metrics.recall_at_100;
  j["mrr@10"] = mode.metrics.mrr_at_10;
  j["queries"] = mode.queries;
  j["documents"] = report.corpus_documents;
  j["search_seconds"] = std::round(mode.seconds * 1000) / 1000;
  return j;
}

void log_ingestion(const kb::IngestReport& r) {
  log::info("corpus ingested: " + std::to_string(r.documents) + " documents (" + std::to_string(r.indexed) +
            " indexed, " + std::to_string(r.duplicates) + " already there, " + std::to_string(r.replaced) +
            " replaced, " + std::to_string(r.failed) + " failed), " + std::to_string(r.tokens) + " tokens in " +
            std::to_string(static_cast<int64_t>(r.seconds * 1000 + 0.5)) + " ms");
  if (r.failed > 0) {
    std::string message = std::to_string(r.failed) +
                          " corpus documents could not be ingested and are never retrieved (their judgements still "
                          "count); first: ";
    for (size_t i = 0; i < r.failures.size(); ++i) message += (i ? "; " : "") + r.failures[i];
    log::warn(message);
  }
}

}  // namespace

int cmd_kb_eval(int argc, char** argv) {
  const auto specs = kb_eval_flags();
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, 
        "qembed kb eval --db PATH --collection NAME --model M --corpus C.jsonl --queries Q.jsonl --qrels Q.tsv "
        "[--mode vector|keyword|hybrid]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  // Every flag and all three files are checked before the (possibly multi-GB) model loads.
  args.require("db");
  const std::string collection_name = args.require("collection");
  args.require("model");
  const kb::EvalFiles files{args.require("corpus"), args.require("queries"), args.require("qrels")};
  kb::EvalOptions options;
  const std::optional<std::string> mode_flag = args.get("mode");
  if (mode_flag) {
    const std::optional<kb::SearchMode> mode = kb::parse_search_mode(*mode_flag);
    if (!mode) throw Error("flag --mode must be vector, keyword or hybrid, got \"" + *mode_flag + "\"");
    options.modes = {*mode};
  }
  service_options_from_args(args);  // checks --threads and the batch flags now; open_kb reads them again
  const kb::EvalData data = kb::load_eval_data(files);
  for (const std::string& warning : data.qrels.warnings) log::warn(warning);
  const int64_t n_skipped = data.qrels.n_skipped_unknown_query + data.qrels.n_skipped_unknown_document;
  if (n_skipped > static_cast<int64_t>(data.qrels.warnings.size())) {
    log::warn(files.qrels + ": " + std::to_string(n_skipped) + " lines skipped in all (" +
              std::to_string(data.qrels.n_skipped_unknown_query) + " unknown query ids, " +
              std::to_string(data.qrels.n_skipped_unknown_document) + " unknown corpus ids)");
  }

  OpenKb opened = open_kb(args, /*need_model=*/true);
  kb::KnowledgeBase* knowledge_base = opened.kb.get();
  kb::Collection collection;
  if (knowledge_base->store().find_collection(collection_name)) {
    collection = knowledge_base->collection_for_model(collection_name);
  } else {
    kb::CollectionRequest request;
    request.name = collection_name;
    collection = knowledge_base->create_collection(request);
    log::info("created collection '" + collection_name + "' with default settings (qembed kb create sets others)");
  }

  const bool show_progress = args.has("progress") || isatty(2);
  std::unique_ptr<Progress> progress;
  kb::EvalCallbacks callbacks;
  callbacks.on_ingest = [&](int64_t finished, int64_t total, int64_t tokens) {
    if (!progress) progress = std::make_unique<Progress>(show_progress, total, "docs ingested");
    progress->update(finished, tokens);
  };
  kb::SearchMode progress_mode{};
  callbacks.on_search = [&](kb::SearchMode mode, int64_t done, int64_t total) {
    if (!progress || progress_mode != mode) {
      if (progress) progress->finish();
      progress = std::make_unique<Progress>(show_progress, total, kb::search_mode_name(mode));
      progress_mode = mode;
    }
    progress->update(done, 0);
  };
  const kb::EvalReport report = kb::run_eval(*knowledge_base, collection, files, data, options, callbacks);
  if (progress) progress->finish();
  log_ingestion(report.ingest);
  if (report.queries_without_relevant + report.queries_without_judgements > 0) {
    log::info(std::to_string(report.queries_without_relevant) + " queries judged without a relevant document and " +
              std::to_string(report.queries_without_judgements) + " queries without judgements were not scored");
  }

  nlohmann::json out;
  if (mode_flag) {
    out = mode_json(report.modes.front(), report);
  } else {
    for (const kb::ModeReport& mode : report.modes) out[kb::search_mode_name(mode.mode)] = mode_json(mode, report);
  }
  print_json_line(out);
  return 0;
}

}  // namespace qembed::cli
