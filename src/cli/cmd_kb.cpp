// qembed kb: the knowledge base from the command line. This file dispatches the subcommands and holds the small
// ones (create, list, rm, check, reindex, export, backup); add/import and search have files of their own.
#include <cstring>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/kb_common.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::cli {

namespace {

void kb_usage(FILE* out) {
  std::fprintf(out,
               "usage: qembed kb SUBCOMMAND [flags]\n\n"
               "subcommands:\n"
               "  create    create a collection for a model\n"
               "  add       ingest files and folders (one JSON line per file)\n"
               "  import    import precomputed vectors with their text (JSONL)\n"
               "  list      list collections, or the documents of one\n"
               "  rm        delete a document (its text, chunks, vectors and index entries)\n"
               "  search    search a collection (hybrid, vector or keyword)\n"
               "  reindex   re-embed a collection with another model from its stored text\n"
               "  check     verify that the store, keyword index and vector indexes agree\n"
               "  eval      retrieval quality on labelled data (BEIR layout)\n"
               "  labels    export the web UI's relevance labels as BEIR files for eval\n"
               "  export    write a collection's chunks (and vectors) as JSONL\n"
               "  backup    copy the whole knowledge base to a file while it is in use\n\n"
               "run 'qembed kb SUBCOMMAND --help' for its flags; docs/kb.md has the details\n");
}

int32_t int_flag(const Args& args, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  return static_cast<int32_t>(args.get_int(name, fallback, lo, hi));
}

}  // namespace

int kb_create(int argc, char** argv) {
  auto specs = kb_base_flags(true);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"dimensions", true, "stored dimensions (Matryoshka; default: the model's)"});
  specs.push_back({"vector-type", true, "f32 (default), f16, or int8 (with f16 originals for rescoring)"});
  specs.push_back({"chunk-tokens", true, "chunk size in model tokens (default 512)"});
  specs.push_back({"chunk-overlap", true, "tokens repeated from the previous chunk (default 64)"});
  specs.push_back({"no-prepend-title", false, "embed chunks without the title/section path in front"});
  specs.push_back({"query-instruction", true, "the task queries are embedded with (default: Qwen3's web search)"});
  specs.push_back({"rerank", false, "searches rerank their candidates by default (they then need a reranker model)"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb create --db PATH --collection NAME --model M [flags]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  kb::CollectionRequest request;
  request.name = args.require("collection");
  request.dimensions = int_flag(args, "dimensions", 0, 1, 1 << 16);
  if (auto type = args.get("vector-type")) {
    std::optional<kb::VectorType> t = kb::parse_vector_type(*type);
    if (!t) throw Error("flag --vector-type must be f32, f16 or int8, got \"" + *type + "\"");
    request.vector_type = *t;
  }
  request.chunk_tokens = int_flag(args, "chunk-tokens", 512, 1, 1 << 20);
  request.overlap_tokens = int_flag(args, "chunk-overlap", 64, 0, 1 << 20);
  request.prepend_title = !args.has("no-prepend-title");
  request.query_instruction = args.get_or("query-instruction", "");
  request.rerank = args.has("rerank");
  args.require("model");
  OpenKb open = open_kb(args, true);
  print_json_line(kb::collection_json(open.kb->create_collection(request)));
  return 0;
}

int kb_list(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "list this collection's documents (default: list collections)"});
  specs.push_back({"status", true, "only documents in this state: pending, indexed or failed"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb list --db PATH [--collection NAME [--status S]]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  OpenKb open = open_kb(args, false);
  kb::Store& store = open.kb->store();
  if (!args.has("collection")) {
    for (const kb::Collection& c : store.list_collections()) {
      nlohmann::json line = kb::collection_json(c);
      const kb::DocumentCounts n = store.document_counts(c.id);
      line["documents"] = {{"pending", n.pending}, {"indexed", n.indexed}, {"failed", n.failed}};
      print_json_line(line);
    }
    return 0;
  }
  const kb::Collection c = open.kb->collection(args.require("collection"));
  std::optional<kb::DocumentStatus> status;
  if (auto s = args.get("status")) {
    status = kb::parse_document_status(*s);
    if (!status) throw Error("flag --status must be pending, indexed or failed, got \"" + *s + "\"");
  }
  for (int64_t after = 0;;) {
    const std::vector<kb::Document> page = store.list_documents(c.id, status, after, 500);
    if (page.empty()) break;
    for (const kb::Document& d : page) print_json_line(kb::document_json(d));
    after = page.back().id;
  }
  return 0;
}

int kb_rm(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"document", true, "document id (repeatable), as `kb add` and `kb list` print it"});
  specs.push_back({"name", true, "document name (repeatable): every version of that name"});
  specs.push_back({"all", false, "delete the whole collection"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb rm --db PATH --collection NAME (--document ID | --name NAME | --all)");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  OpenKb open = open_kb(args, false);
  const kb::Collection c = open.kb->collection(args.require("collection"));
  if (args.has("all")) {
    open.kb->delete_collection(c.settings.name);
    print_json_line({{"collection", c.settings.name}, {"removed", true}});
    return 0;
  }
  std::vector<int64_t> ids;
  for (const std::string& v : args.get_all("document")) {
    char* end = nullptr;
    const long long id = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end) throw Error("flag --document takes a document id (an integer), got \"" + v + "\"");
    ids.push_back(id);
  }
  for (const std::string& name : args.get_all("name")) {
    const std::vector<kb::Document> docs = open.kb->store().find_documents(c.id, name);
    if (docs.empty()) throw Error("collection '" + c.settings.name + "' has no document named '" + name + "'");
    for (const kb::Document& d : docs) ids.push_back(d.id);
  }
  if (ids.empty()) throw Error("give --document ID, --name NAME or --all");
  for (int64_t id : ids) {
    const std::optional<kb::Document> d = open.kb->store().get_document(id);
    if (!d || d->collection_id != c.id) {
      throw Error("collection '" + c.settings.name + "' has no document " + std::to_string(id));
    }
    open.kb->store().delete_document(id);
    print_json_line({{"document_id", id}, {"document", d->name}, {"removed", true}});
  }
  return 0;
}

int kb_check(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "check only this collection (default: all)"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb check --db PATH [--collection NAME]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  OpenKb open = open_kb(args, false);
  std::vector<kb::Collection> collections;
  if (auto name = args.get("collection")) {
    collections.push_back(open.kb->collection(*name));
  } else {
    collections = open.kb->store().list_collections();
  }
  std::vector<std::string> problems = open.kb->check_store().problems;
  for (const kb::Collection& c : collections) {
    for (const std::string& p : open.kb->check(c).problems) {
      // The store-level lines repeat for every collection: keep each once.
      if (std::find(problems.begin(), problems.end(), p) == problems.end()) problems.push_back(p);
    }
  }
  const kb::StoreCounts n = open.kb->store().counts();
  print_json_line({{"consistent", problems.empty()},
                   {"problems", problems},
                   {"collections", n.collections},
                   {"documents", n.documents},
                   {"chunks", n.chunks},
                   {"vectors", n.vectors},
                   {"keyword_rows", n.keyword_rows},
                   {"pending_sources", n.pending_sources}});
  for (const std::string& p : problems) std::fprintf(stderr, "qembed: inconsistent: %s\n", p.c_str());
  return problems.empty() ? 0 : 1;
}

int kb_reindex(int argc, char** argv) {
  auto specs = kb_base_flags(true);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"dimensions", true, "new stored dimensions (default: keep them)"});
  specs.push_back({"progress", false, "show a progress bar even when stderr is not a terminal"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb reindex --db PATH --collection NAME --model M [--dimensions D]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  const std::string name = args.require("collection");
  const int32_t dims = int_flag(args, "dimensions", 0, 1, 1 << 16);
  args.require("model");
  OpenKb open = open_kb(args, true);
  const kb::Collection before = open.kb->collection(name);
  Progress progress(args.has("progress") || isatty(2), 0);
  const int64_t n = open.kb->reindex(before, dims, [&](int64_t done, int64_t) { progress.update(done, 0); });
  progress.finish();
  const kb::Collection after = open.kb->collection(name);
  print_json_line({{"collection", name},
                   {"chunks", n},
                   {"model", after.settings.model.name},
                   {"previous_model", before.settings.model.name},
                   {"dimensions", after.settings.dimensions}});
  return 0;
}

int kb_export(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"output", true, "JSONL file (default: stdout)"});
  specs.push_back({"vectors", false, "include each chunk's vector (f32 values), so `kb import` can load it"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb export --db PATH --collection NAME [--output F.jsonl] [--vectors]");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  OpenKb open = open_kb(args, false);
  kb::Store& store = open.kb->store();
  const kb::Collection c = open.kb->collection(args.require("collection"));
  const bool with_vectors = args.has("vectors");
  FILE* out = stdout;
  std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, &std::fclose);
  if (auto path = args.get("output"); path && *path != "-") {
    file.reset(std::fopen(path->c_str(), "wb"));
    if (!file) throw IoError("cannot write " + *path + ": " + std::strerror(errno));
    out = file.get();
  }
  int64_t lines = 0;
  for (int64_t after = 0;;) {
    const std::vector<kb::Document> page = store.list_documents(c.id, kb::DocumentStatus::kIndexed, after, 200);
    if (page.empty()) break;
    after = page.back().id;
    for (const kb::Document& d : page) {
      if (!d.content_id) continue;
      const std::vector<kb::Chunk> chunks = store.content_chunks(*d.content_id);
      std::vector<int64_t> ids;
      for (const kb::Chunk& ch : chunks) ids.push_back(ch.id);
      const std::vector<std::string> texts = store.chunk_texts(ids);
      const std::vector<float> vectors = with_vectors ? store.load_vectors_f32(c.id, ids) : std::vector<float>{};
      const nlohmann::json metadata = kb::document_json(d)["metadata"];
      const auto dims = static_cast<size_t>(c.settings.dimensions);
      for (size_t i = 0; i < chunks.size(); ++i) {
        nlohmann::json line{{"document", d.name}, {"document_id", d.id}, {"chunk", chunks[i].ordinal},
                            {"text", texts[i]},   {"start", chunks[i].cp_start}, {"end", chunks[i].cp_end}};
        if (chunks[i].page_first > 0) line["page"] = chunks[i].page_first;
        if (!chunks[i].section_path.empty()) line["section"] = chunks[i].section_path;
        if (!metadata.empty()) line["metadata"] = metadata;
        if (with_vectors) {
          line["vector"] = std::vector<float>(vectors.begin() + static_cast<std::ptrdiff_t>(i * dims),
                                              vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * dims));
        }
        const std::string s = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (std::fwrite(s.data(), 1, s.size(), out) != s.size()) throw IoError("cannot write the export");
        ++lines;
      }
    }
  }
  if (std::fflush(out) != 0) throw IoError("cannot write the export");
  log::info("exported " + std::to_string(lines) + " chunks of collection '" + c.settings.name + "'");
  return 0;
}

int kb_backup(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"output", true, "the backup file (must not exist)"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb backup --db PATH --output FILE");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  const std::string output = args.require("output");
  OpenKb open = open_kb(args, false);
  open.kb->store().backup_to(output);
  print_json_line({{"backup", output}, {"collections", open.kb->store().counts().collections}});
  return 0;
}

int cmd_kb(int argc, char** argv) {
  if (argc < 3 || !std::strcmp(argv[2], "--help") || !std::strcmp(argv[2], "-h") || !std::strcmp(argv[2], "help")) {
    kb_usage(argc < 3 ? stderr : stdout);
    return argc < 3 ? 1 : 0;
  }
  static const struct {
    const char* name;
    int (*run)(int, char**);
  } kSubcommands[] = {
      {"create", kb_create}, {"add", kb_add},       {"import", kb_import},   {"list", kb_list},
      {"rm", kb_rm},         {"search", kb_search}, {"reindex", kb_reindex}, {"check", kb_check},
      {"eval", cmd_kb_eval}, {"labels", kb_labels}, {"export", kb_export},   {"backup", kb_backup},
  };
  for (const auto& s : kSubcommands) {
    if (!std::strcmp(argv[2], s.name)) return s.run(argc, argv);
  }
  throw Error(std::string("unknown kb subcommand \"") + argv[2] + "\"; run qembed kb --help");
}

}  // namespace qembed::cli
