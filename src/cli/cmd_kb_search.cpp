// qembed kb search: one JSON line per hit, best first, with what a citation needs.
#include <cmath>

#include "cli/kb_common.hpp"
#include "common/error.hpp"
#include "kb/rerank_stage.hpp"

namespace qembed::cli {

namespace {

double weight_flag(const Args& args, const char* name) {
  const std::optional<std::string> v = args.get(name);
  if (!v) return 1;
  char* end = nullptr;
  const double w = std::strtod(v->c_str(), &end);
  if (v->empty() || *end || !std::isfinite(w) || w < 0) {
    throw Error(std::string("flag --") + name + " must be a number at least 0, got \"" + *v + "\"");
  }
  return w;
}

}  // namespace

int kb_search(int argc, char** argv) {
  auto specs = kb_base_flags(true);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"mode", true, "hybrid (default), vector or keyword"});
  specs.push_back({"top-k", true, "hits to return (default 10, at most 1000)"});
  specs.push_back({"vector-weight", true, "hybrid: weight of the vector ranking in the fusion (default 1)"});
  specs.push_back({"keyword-weight", true, "hybrid: weight of the keyword ranking (default 1)"});
  specs.push_back({"document", true, "only this document id (repeatable)"});
  specs.push_back({"format", true, "only this file type: pdf, docx, html, markdown, text (repeatable)"});
  specs.push_back({"meta", true, "only documents whose metadata KEY equals VALUE: KEY=VALUE (repeatable; VALUE is "
                                 "JSON when it parses, else a string)"});
  specs.push_back({"exact", false, "vector: exact scan instead of the ANN index (the reference)"});
  specs.push_back({"ef", true, "vector: ANN search breadth (default: the index's)"});
  specs.push_back({"rerank", false, "rerank the candidates with --reranker-model (default: the collection's choice)"});
  specs.push_back({"no-rerank", false, "do not rerank, also where the collection reranks by default"});
  specs.push_back({"reranker-model", true, "a Qwen3-Reranker (GGUF file or HuggingFace folder) for reranking"});
  specs.push_back({"rerank-candidates", true, "reranking: candidates retrieved and scored (default 50, at most 1000)"});
  const std::optional<Args> parsed = parse_kb_args(
      specs, argc, argv,
      "qembed kb search --db PATH --collection NAME --model M [--mode hybrid|vector|keyword] [--top-k K] "
      "[--rerank --reranker-model R [--rerank-candidates N]] QUERY",
      true);
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  kb::SearchRequest request;
  for (const std::string& word : args.positionals()) {
    if (!request.query.empty()) request.query += ' ';
    request.query += word;
  }
  if (request.query.empty()) throw Error("give the query after the flags");
  if (auto mode = args.get("mode")) {
    std::optional<kb::SearchMode> m = kb::parse_search_mode(*mode);
    if (!m) throw Error("flag --mode must be hybrid, vector or keyword, got \"" + *mode + "\"");
    request.mode = *m;
  }
  request.top_k = static_cast<int32_t>(args.get_int("top-k", 10, 1, 1000));
  request.vector_weight = weight_flag(args, "vector-weight");
  request.keyword_weight = weight_flag(args, "keyword-weight");
  request.exact = args.has("exact");
  request.ef = static_cast<size_t>(args.get_int("ef", 0, 1, 1 << 20));
  if (args.has("rerank") && args.has("no-rerank")) throw Error("flags --rerank and --no-rerank contradict each other");
  if (args.has("rerank")) request.rerank = true;
  if (args.has("no-rerank")) request.rerank = false;
  request.rerank_candidates = static_cast<int32_t>(args.get_int("rerank-candidates", 50, 1, 1000));
  // Before any model loads; a collection that reranks by default is checked by the search itself.
  if (request.rerank.value_or(false) && !args.has("reranker-model")) throw Error(kb::kNoRerankerMessage);
  for (const std::string& v : args.get_all("document")) {
    char* end = nullptr;
    const long long id = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end) throw Error("flag --document takes a document id (an integer), got \"" + v + "\"");
    request.filter.document_ids.push_back(id);
  }
  request.filter.formats = args.get_all("format");
  for (const std::string& kv : args.get_all("meta")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("flag --meta takes KEY=VALUE, got \"" + kv + "\"");
    const std::string value = kv.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_primitive() || parsed.is_null()) parsed = value;
    request.filter.metadata_equals.emplace_back(kv.substr(0, eq), parsed.dump());
  }
  // Keyword search needs no model; the others embed the query.
  const bool need_model = request.mode != kb::SearchMode::kKeyword;
  if (need_model) args.require("model");
  OpenKb open = open_kb(args, need_model, true);
  const std::string name = args.require("collection");
  const kb::Collection collection = need_model ? open.kb->collection_for_model(name) : open.kb->collection(name);
  const kb::SearchResults results = open.kb->search(collection, request);
  for (const kb::SearchHit& hit : results.hits) print_json_line(kb::hit_json(hit));
  return 0;
}

}  // namespace qembed::cli
