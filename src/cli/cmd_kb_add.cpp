// qembed kb add / import: files and folders into a collection. Files are read and registered in bounded batches
// (the store keeps each pending upload, so a killed run resumes), ingested in the background at full speed, and
// reported as one JSON line each as soon as each is final.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "cli/jsonl.hpp"
#include "cli/kb_common.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::cli {

namespace fs = std::filesystem;

namespace {

//! The files named on the command line, folders walked recursively (sorted, so runs are reproducible). Hidden
//! entries inside a folder (".git", ".DS_Store") are skipped; a file named explicitly is always taken. Symbolic
//! links to folders are not followed (no cycles).
std::vector<std::string> collect_files(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const std::string& arg : args) {
    std::error_code ec;
    const fs::file_status st = fs::status(arg, ec);
    if (ec || !fs::exists(st)) throw Error(arg + ": no such file or folder");
    if (!fs::is_directory(st)) {
      files.push_back(fs::path(arg).lexically_normal().string());
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(arg, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw Error(arg + ": cannot read the folder: " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) throw Error(arg + ": cannot read the folder: " + ec.message());
      const std::string leaf = it->path().filename().string();
      if (!leaf.empty() && leaf[0] == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) found.push_back(it->path().lexically_normal().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

//! Reads a whole file; Error naming it.
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(path + ": read error");
  return bytes;
}

//! Outcomes arriving from the ingestion threads, printed and counted on the way.
struct Reporter {
  std::mutex mutex;
  std::condition_variable changed;
  int64_t finished = 0, failed = 0, tokens = 0, chunks = 0, indexed = 0, duplicates = 0, replaced = 0;
  void report(const kb::IngestOutcome& outcome, const std::string& file) {
    nlohmann::json line = kb::outcome_json(outcome);
    line["file"] = file;
    std::lock_guard lock(mutex);
    print_json_line(line);
    ++finished;
    tokens += outcome.tokens;
    if (outcome.status == kb::IngestStatus::kFailed) ++failed;
    if (outcome.status == kb::IngestStatus::kIndexed) ++indexed;
    if (outcome.status == kb::IngestStatus::kDuplicate) ++duplicates;
    if (outcome.status == kb::IngestStatus::kReplaced) ++replaced;
    if (outcome.tokens > 0) chunks += outcome.chunks;
    changed.notify_all();
  }
};

}  // namespace

int kb_add(int argc, char** argv) {
  auto specs = kb_base_flags(true);
  specs.push_back({"collection", true, "collection name"});
  specs.push_back({"metadata", true, "user metadata for every file, a JSON object (filters match on it)"});
  specs.push_back({"progress", false, "show a progress bar even when stderr is not a terminal"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb add --db PATH --collection NAME --model M FILE|FOLDER...", true);
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  const std::string collection_name = args.require("collection");
  const std::string metadata = args.get_or("metadata", "{}");
  {
    const nlohmann::json m = nlohmann::json::parse(metadata, nullptr, false);
    if (m.is_discarded() || !m.is_object()) throw Error("flag --metadata must be a JSON object, got " + metadata);
  }
  if (args.positionals().empty()) throw Error("give the files or folders to add");
  const std::vector<std::string> files = collect_files(args.positionals());
  args.require("model");
  OpenKb open = open_kb(args, true);
  kb::KnowledgeBase& base = *open.kb;
  const kb::Collection collection = base.collection_for_model(collection_name);

  Reporter reporter;
  Progress progress(args.has("progress") || isatty(2), static_cast<int64_t>(files.size()));
  // Documents a killed run left pending go first (they are not on this command line: logged, not printed).
  // They finish before the files are registered, so a file that was pending is then reported as what it is.
  if (std::optional<int64_t> resumed = base.ingestion().resume(collection)) {
    const std::optional<kb::JobProgress> job = base.ingestion().job(*resumed);
    log::info("resuming " + std::to_string(job ? job->total : 0) + " pending documents of collection '" +
              collection_name + "' left by an interrupted run");
    base.ingestion().wait(*resumed);
    const std::optional<kb::JobProgress> done = base.ingestion().job(*resumed);
    if (done && done->failed > 0) log::warn(std::to_string(done->failed) + " of them failed (see kb list --status failed)");
  }

  const auto started = std::chrono::steady_clock::now();
  // Batches of at most 64 MiB or 256 files: the bytes go to the store at once (durable), then leave memory.
  const int64_t max_file_bytes = base.options().limits.max_input_bytes;
  std::vector<int64_t> jobs;
  std::vector<kb::IngestItem> batch;
  std::vector<std::string> batch_files;
  int64_t batch_bytes = 0, refused = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    auto names = std::make_shared<std::vector<std::string>>(std::move(batch_files));
    batch_files.clear();
    jobs.push_back(base.ingestion().submit(collection, std::move(batch), [&reporter, names](const kb::IngestOutcome& o) {
      reporter.report(o, (*names)[o.index]);
    }));
    batch.clear();
    batch_bytes = 0;
  };
  for (const std::string& file : files) {
    std::error_code ec;
    const auto size = static_cast<int64_t>(fs::file_size(file, ec));
    kb::IngestOutcome refusal;
    refusal.name = file;
    refusal.status = kb::IngestStatus::kFailed;
    if (ec) {
      refusal.error = file + ": cannot read: " + ec.message();
    } else if (size > max_file_bytes) {
      // Not even read: a 20 GB file named .txt must not pass through memory.
      refusal.error = file + ": the file is " + std::to_string(size) + " bytes, above the limit of " +
                      std::to_string(max_file_bytes >> 20) + " MiB";
    } else {
      try {
        kb::IngestItem item;
        item.name = file;
        item.bytes = read_file(file);
        item.metadata_json = metadata;
        batch_bytes += static_cast<int64_t>(item.bytes.size());
        batch.push_back(std::move(item));
        batch_files.push_back(file);
        if (batch_bytes >= (int64_t{64} << 20) || batch.size() >= 256) flush();
        continue;
      } catch (const Error& e) {
        refusal.error = e.what();
      }
    }
    ++refused;
    reporter.report(refusal, file);
  }
  flush();
  {
    std::unique_lock lock(reporter.mutex);
    while (reporter.finished < static_cast<int64_t>(files.size())) {
      reporter.changed.wait_for(lock, std::chrono::milliseconds(200));
      progress.update(reporter.finished, reporter.tokens);
    }
  }
  for (int64_t job : jobs) base.ingestion().wait(job);
  progress.finish();
  (void)refused;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.2f s (%.1f tok/s)", seconds,
                seconds > 0 ? static_cast<double>(reporter.tokens) / seconds : 0.0);
  log::info("ingested " + std::to_string(files.size()) + " files (" + std::to_string(reporter.indexed) +
            " indexed, " + std::to_string(reporter.replaced) + " replaced, " + std::to_string(reporter.duplicates) +
            " duplicates, " + std::to_string(reporter.failed) + " failed): " + std::to_string(reporter.chunks) +
            " chunks, " + std::to_string(reporter.tokens) + " tokens embedded in " + rate + "; " +
            std::to_string(open.service->stats().batches_total.load()) + " forward batches of " +
            std::to_string(open.service->stats().tokens_total.load() /
                           std::max<int64_t>(open.service->stats().batches_total.load(), 1)) +
            " tokens on average");
  return reporter.failed > 0 ? 1 : 0;
}

int kb_import(int argc, char** argv) {
  auto specs = kb_base_flags(false);
  specs.push_back({"collection", true, "collection name (created beforehand with `kb create`)"});
  specs.push_back({"input", true, "JSONL: {\"document\", \"text\", \"vector\": [...], \"section\"?, \"page\"?, "
                                  "\"metadata\"?} per chunk; consecutive lines of one document form it"});
  const std::optional<Args> parsed = parse_kb_args(specs, argc, argv, "qembed kb import --db PATH --collection NAME --input CHUNKS.jsonl");
  if (!parsed) return 0;  // --help
  const Args& args = *parsed;
  JsonlReader reader(args.require("input"));
  OpenKb open = open_kb(args, false);
  const kb::Collection collection = open.kb->collection(args.require("collection"));
  const auto dims = static_cast<size_t>(collection.settings.dimensions);
  int64_t documents = 0, chunks = 0, failed = 0;
  kb::ImportedDocument doc;
  auto finish_document = [&] {
    if (doc.name.empty()) return;
    const kb::IngestOutcome outcome = open.kb->import_document(collection, std::move(doc));
    print_json_line(kb::outcome_json(outcome));
    ++documents;
    chunks += outcome.chunks;
    if (outcome.status == kb::IngestStatus::kFailed) ++failed;
    doc = {};
  };
  while (std::optional<nlohmann::json> line = reader.next()) {
    const std::string where = "line " + std::to_string(reader.line_number());
    const nlohmann::json& obj = *line;
    auto field = [&](const char* name) -> const nlohmann::json& {
      auto it = obj.find(name);
      if (it == obj.end()) throw Error(where + ": missing \"" + name + "\"");
      return *it;
    };
    const nlohmann::json& name = field("document");
    const nlohmann::json& text = field("text");
    const nlohmann::json& vector = field("vector");
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
      throw Error(where + ": \"document\" must be a non-empty string");
    }
    if (!text.is_string()) throw Error(where + ": \"text\" must be a string");
    if (!vector.is_array() || vector.size() != dims) {
      throw Error(where + ": \"vector\" must be an array of " + std::to_string(dims) +
                  " numbers (the collection's dimensions)" +
                  (vector.is_array() ? ", got " + std::to_string(vector.size()) : std::string()));
    }
    if (name.get_ref<const std::string&>() != doc.name) {
      finish_document();
      doc.name = name.get<std::string>();
      if (auto m = obj.find("metadata"); m != obj.end()) {
        if (!m->is_object()) throw Error(where + ": \"metadata\" must be an object");
        doc.metadata_json = m->dump();
      }
    }
    kb::ImportedChunk chunk;
    chunk.text = text.get<std::string>();
    if (auto s = obj.find("section"); s != obj.end() && s->is_string()) chunk.section = s->get<std::string>();
    if (auto p = obj.find("page"); p != obj.end() && p->is_number_integer()) chunk.page = p->get<int32_t>();
    chunk.vector.reserve(dims);
    for (const nlohmann::json& v : vector) {
      if (!v.is_number()) throw Error(where + ": \"vector\" holds a non-number");
      const double x = v.get<double>();
      if (!std::isfinite(x)) throw Error(where + ": \"vector\" holds a non-finite number");
      chunk.vector.push_back(static_cast<float>(x));
    }
    doc.chunks.push_back(std::move(chunk));
  }
  finish_document();
  log::info("imported " + std::to_string(chunks) + " chunks in " + std::to_string(documents) + " documents");
  return failed > 0 ? 1 : 0;
}

}  // namespace qembed::cli
