// qembed kb labels export: the relevance labels people gave in the web UI (thumbs up/down on search results) as
// a BEIR dataset that `qembed kb eval` reads: corpus.jsonl (each judged document's current text, its name as _id),
// queries.jsonl (each judged query, q1, q2...) and qrels.tsv (grade 1 relevant, 0 not). A label whose document
// has no indexed version any more is skipped with a warning.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/kb_common.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::cli {

namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw IoError("cannot write " + path.string() + ": " + std::strerror(errno));
}

std::string json_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

int labels_export(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"out", true, "folder for corpus.jsonl, queries.jsonl and qrels.tsv (created when missing)"});
  // argv[3] is "export": the flags start after it.
  const std::optional<Args> parsed =
      parse_kb_args(specs, argc - 1, argv + 1, "qembed kb labels export --db PATH --collection NAME --out DIR");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  OpenKb open = open_kb(args, false);
  kb::Store& store = open.kb->store();
  const kb::Collection c = open.kb->collection(args.require("collection"));
  const std::filesystem::path out_dir = args.require("out");

  std::map<std::string, std::string> query_ids;  // query text -> q1, q2... in the order first judged
  std::string queries, qrels = "query-id\tcorpus-id\tscore\n", corpus;
  std::map<std::string, bool> documents;  // name -> found (an indexed version with text)
  int64_t n_labels = 0, n_relevant = 0, n_skipped = 0;
  for (const kb::RelevanceLabel& label : store.list_labels(c.id)) {
    auto doc = documents.find(label.document_name);
    if (doc == documents.end()) {
      std::optional<std::string> text;
      for (const kb::Document& d : store.find_documents(c.id, label.document_name)) {
        if (d.content_id) text = store.content_text(*d.content_id);
        if (text) break;
      }
      if (text) corpus += json_line({{"_id", label.document_name}, {"text", *text}});
      doc = documents.emplace(label.document_name, text.has_value()).first;
    }
    if (!doc->second) {
      log::warn("skipping the label of '" + label.document_name + "' for \"" + label.query.substr(0, 80) +
                "\": no indexed document has that name now");
      ++n_skipped;
      continue;
    }
    if (label.document_name.find_first_of("\t\r\n") != std::string::npos) {
      throw Error("document name '" + label.document_name + "' holds a tab or line break: it cannot go in qrels.tsv");
    }
    std::string query_id = "q";  // appended, not "q" + ...: GCC 12 warns falsely (-Wrestrict) on that form
    query_id += std::to_string(query_ids.size() + 1);
    auto [q, added] = query_ids.emplace(label.query, std::move(query_id));
    if (added) queries += json_line({{"_id", q->second}, {"text", label.query}});
    qrels += q->second + "\t" + label.document_name + "\t" + std::to_string(label.grade) + "\n";
    ++n_labels;
    if (label.grade > 0) ++n_relevant;
  }
  std::filesystem::create_directories(out_dir);
  write_file(out_dir / "corpus.jsonl", corpus);
  write_file(out_dir / "queries.jsonl", queries);
  write_file(out_dir / "qrels.tsv", qrels);
  int64_t n_documents = 0;
  for (const auto& [_, found] : documents) n_documents += found ? 1 : 0;
  print_json_line({{"collection", c.settings.name},
                   {"out", out_dir.string()},
                   {"labels", n_labels},
                   {"relevant", n_relevant},
                   {"queries", static_cast<int64_t>(query_ids.size())},
                   {"documents", n_documents},
                   {"skipped", n_skipped}});
  return 0;
}

}  // namespace

int kb_labels(int argc, char** argv) {
  if (argc < 4 || !std::strcmp(argv[3], "--help") || !std::strcmp(argv[3], "-h")) {
    std::fprintf(argc < 4 ? stderr : stdout,
                 "usage: qembed kb labels export --db PATH --collection NAME --out DIR\n\n"
                 "writes the relevance labels given in the web UI as corpus.jsonl, queries.jsonl and qrels.tsv\n"
                 "(BEIR layout) for `qembed kb eval`\n");
    return argc < 4 ? 2 : 0;
  }
  if (!std::strcmp(argv[3], "export")) return labels_export(argc, argv);
  throw Error(std::string("unknown kb labels action \"") + argv[3] + "\"; the only one is export");
}

}  // namespace qembed::cli
