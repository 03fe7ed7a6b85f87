#include "kb/beir.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_reason.hpp"
#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

// The store's limit on a document name; a corpus id becomes the document's name.
constexpr size_t kMaxIdBytes = 1024;
// Warnings about skipped qrels lines kept for the user; the rest are only counted.
constexpr size_t kMaxWarnings = 5;

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view trim_spaces(std::string_view s) {
  const size_t first = s.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

//! Checks UTF-8 first so that an invalid byte is reported by its offset, not echoed by the JSON parser's message.
nlohmann::json parse_object_line(const NumberedLineReader& lines, const std::string& line) {
  if (const auto bad = first_invalid_utf8(line)) {
    throw Error(lines.where() + "not valid UTF-8 (invalid byte at offset " + std::to_string(*bad) + ")");
  }
  nlohmann::json obj;
  try {
    obj = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(lines.where() + "invalid JSON: " + json_error_reason(e.what()));
  }
  if (!obj.is_object()) throw Error(lines.where() + "expected a JSON object");
  return obj;
}

std::string id_field(const NumberedLineReader& lines, const nlohmann::json& obj) {
  const auto it = obj.find("_id");
  if (it == obj.end()) throw Error(lines.where() + "missing field \"_id\"");
  std::string id;
  if (it->is_string()) {
    id = it->get<std::string>();
  } else if (it->is_number_integer()) {
    id = it->dump();
  } else {
    throw Error(lines.where() + "field \"_id\" must be a string");
  }
  if (id.empty()) throw Error(lines.where() + "field \"_id\" is empty");
  if (id.size() > kMaxIdBytes) {
    throw Error(lines.where() + "field \"_id\" is " + std::to_string(id.size()) + " bytes, above the limit of " +
                std::to_string(kMaxIdBytes) + " (it becomes the document's name)");
  }
  return id;
}

//! A string field; `required` false lets it be absent or null ("").
std::string text_field(const NumberedLineReader& lines, const nlohmann::json& obj, const char* name, bool required) {
  const auto it = obj.find(name);
  if (it == obj.end() || (!required && it->is_null())) {
    if (required) throw Error(lines.where() + "missing field \"" + name + "\"");
    return {};
  }
  if (!it->is_string()) throw Error(lines.where() + "field \"" + name + "\" must be a string");
  return it->get<std::string>();
}

std::optional<int32_t> parse_grade(std::string_view s) {
  int32_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const size_t tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

}  // namespace

NumberedLineReader::NumberedLineReader(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw Error(path_ + ": is a directory, not a file");
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_) throw Error(path_ + ": cannot open: " + std::strerror(errno));
}

NumberedLineReader::~NumberedLineReader() {
  if (file_) std::fclose(file_);
}

std::string NumberedLineReader::where() const { return path_ + ":" + std::to_string(line_number_) + ": "; }

bool NumberedLineReader::next(std::string& line) {
  line.clear();
  int ch = 0;
  bool any = false;
  while ((ch = std::getc(file_)) != EOF) {
    any = true;
    if (ch == '\n') break;
    if (line.size() >= kMaxLineBytes) {
      throw LimitError(path_ + ":" + std::to_string(line_number_ + 1) + ": line longer than " +
                       std::to_string(kMaxLineBytes >> 20) + " MiB");
    }
    line.push_back(static_cast<char>(ch));
  }
  if (std::ferror(file_)) throw IoError(path_ + ": read failed: " + std::strerror(errno));
  if (!any) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line_number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  return true;
}

std::optional<size_t> first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t n = decode_utf8(p + i, s.size() - i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

BeirCorpusReader::BeirCorpusReader(const std::string& path) : lines_(path) {}

std::optional<BeirDocument> BeirCorpusReader::next() {
  std::string line;
  while (lines_.next(line)) {
    if (is_blank(line)) continue;
    const nlohmann::json obj = parse_object_line(lines_, line);
    BeirDocument doc;
    doc.id = id_field(lines_, obj);
    doc.title = text_field(lines_, obj, "title", false);
    doc.text = text_field(lines_, obj, "text", true);
    doc.line = lines_.line_number();
    return doc;
  }
  return std::nullopt;
}

BeirCorpusIds scan_beir_corpus(const std::string& path) {
  BeirCorpusReader reader(path);
  BeirCorpusIds ids;
  while (std::optional<BeirDocument> doc = reader.next()) {
    const auto [it, inserted] = ids.emplace(std::move(doc->id), doc->line);
    if (!inserted) {
      throw Error(path + ":" + std::to_string(doc->line) + ": duplicate _id \"" + it->first + "\" (first on line " +
                  std::to_string(it->second) + ")");
    }
  }
  if (ids.empty()) throw Error(path + ": no documents in the corpus");
  return ids;
}

std::vector<BeirQuery> read_beir_queries(const std::string& path) {
  NumberedLineReader lines(path);
  std::vector<BeirQuery> queries;
  std::unordered_map<std::string, int64_t> line_of_id;
  std::string line;
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const nlohmann::json obj = parse_object_line(lines, line);
    BeirQuery query{id_field(lines, obj), text_field(lines, obj, "text", true), lines.line_number()};
    // The search refuses an empty query; say so here, where the line is known.
    if (query.text.find_first_not_of(" \t\n\r") == std::string::npos) throw Error(lines.where() + "empty query text");
    const auto [it, inserted] = line_of_id.emplace(query.id, query.line);
    if (!inserted) {
      throw Error(lines.where() + "duplicate _id \"" + query.id + "\" (first on line " + std::to_string(it->second) +
                  ")");
    }
    queries.push_back(std::move(query));
  }
  if (queries.empty()) throw Error(path + ": no queries in the file");
  return queries;
}

BeirQrels read_beir_qrels(const std::string& path, const std::function<bool(const std::string&)>& is_query,
                          const std::function<bool(const std::string&)>& is_document) {
  NumberedLineReader lines(path);
  BeirQrels qrels;
  std::unordered_map<std::string, int64_t> line_of_pair;  // "query\tdocument" -> line, to report a repeated pair
  bool first_content_line = true;
  std::string line;
  auto warn = [&](const std::string& message) {
    if (qrels.warnings.size() < kMaxWarnings) qrels.warnings.push_back(lines.where() + message);
  };
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const bool may_be_header = first_content_line;
    first_content_line = false;
    if (const auto bad = first_invalid_utf8(line)) {
      throw Error(lines.where() + "not valid UTF-8 (invalid byte at offset " + std::to_string(*bad) + ")");
    }
    const std::vector<std::string_view> fields = split_tabs(line);
    if (fields.size() != 3) {
      std::string message =
          "expected 3 tab-separated fields (query-id, corpus-id, score), found " + std::to_string(fields.size());
      // TREC's qrels format ("qid 0 docid grade", spaces) is the usual mix-up.
      if (fields.size() == 1 && std::count(line.begin(), line.end(), ' ') == 3) {
        message +=
            "; this looks like TREC qrels (4 space-separated columns): keep query-id, corpus-id and grade, "
            "separated by tabs";
      }
      throw Error(lines.where() + message);
    }
    const std::string query_id(trim_spaces(fields[0])), document_id(trim_spaces(fields[1]));
    const std::string_view score_text = trim_spaces(fields[2]);
    const std::optional<int32_t> grade = parse_grade(score_text);
    if (!grade) {
      if (may_be_header) continue;  // BEIR's "query-id\tcorpus-id\tscore"
      throw Error(lines.where() + "score \"" + std::string(score_text) +
                  "\" is not an integer (a relevance grade: 0 not relevant, 1, 2, ... more relevant)");
    }
    if (query_id.empty() || document_id.empty()) {
      throw Error(lines.where() + (query_id.empty() ? "empty query-id" : "empty corpus-id"));
    }
    const auto [it, inserted] = line_of_pair.emplace(query_id + '\t' + document_id, lines.line_number());
    if (!inserted) {
      throw Error(lines.where() + "query \"" + query_id + "\" and document \"" + document_id +
                  "\" are judged twice (first on line " + std::to_string(it->second) + ")");
    }
    if (!is_query(query_id)) {
      ++qrels.n_skipped_unknown_query;
      warn("query-id \"" + query_id + "\" is not in the queries file: line skipped");
      continue;
    }
    if (!is_document(document_id)) {
      ++qrels.n_skipped_unknown_document;
      warn("corpus-id \"" + document_id + "\" is not in the corpus: line skipped");
      continue;
    }
    qrels.by_query[query_id][document_id] = *grade;
    ++qrels.n_judgements;
  }
  if (qrels.n_judgements == 0 && qrels.warnings.empty()) {
    throw Error(path + ": no judgements (lines of query-id<TAB>corpus-id<TAB>score)");
  }
  if (qrels.n_judgements == 0) {
    throw Error(path + ": no judgement names a query and a document of the files given (" + qrels.warnings.front() +
                ")");
  }
  return qrels;
}

}  // namespace qembed::kb
