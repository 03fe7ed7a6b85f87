#pragma once
// Readers of labelled retrieval data in the BEIR layout, for `qembed kb eval`:
//   corpus.jsonl   one {"_id": "...", "title": "..." (optional), "text": "..."} per line
//   queries.jsonl  one {"_id": "...", "text": "..."} per line
//   qrels.tsv      query-id <TAB> corpus-id <TAB> score, with an optional header line; the score is an integer
//                  grade (graded relevance: >= 1 relevant, higher more so; 0 or below judged not relevant)
// Every error is a kInvalidInput Error starting with "file:line: " and saying what is wrong. Blank lines are
// skipped, "\r\n" line ends and a UTF-8 BOM are accepted, other fields of a line are ignored. An `_id` is a string
// (a JSON integer is taken as its decimal text, since hand-made files often write `"_id": 1`).
//
// A corpus can be larger than memory, so it is read as a stream: scan_beir_corpus() checks every line and keeps
// only the ids; BeirCorpusReader then yields one document at a time for ingestion.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kb/retrieval_metrics.hpp"

namespace qembed::kb {

//! Reads a file line by line with its line number; "\n" or "\r\n" ends a line, a UTF-8 BOM before the first line
//! is dropped. Errors: a missing file or a directory (naming the path), a line over `kMaxLineBytes`.
class NumberedLineReader {
 public:
  static constexpr size_t kMaxLineBytes = size_t{256} << 20;  //!< a document's own limit (ExtractLimits)
  explicit NumberedLineReader(std::string path);
  ~NumberedLineReader();
  NumberedLineReader(const NumberedLineReader&) = delete;
  NumberedLineReader& operator=(const NumberedLineReader&) = delete;
  //! The next line without its end; false at the end of the file.
  bool next(std::string& line);
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  //! "path:line: " for messages about the line last read.
  std::string where() const;

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t line_number_ = 0;
};

//! Byte offset of the first invalid UTF-8 sequence in `s`, or nullopt when all of it is valid.
std::optional<size_t> first_invalid_utf8(std::string_view s);

struct BeirDocument {
  std::string id;
  std::string title;  //!< "" when absent or null
  std::string text;
  int64_t line = 0;  //!< in corpus.jsonl
};

struct BeirQuery {
  std::string id;
  std::string text;
  int64_t line = 0;  //!< in queries.jsonl
};

//! Yields the documents of corpus.jsonl in file order, checking each line.
class BeirCorpusReader {
 public:
  explicit BeirCorpusReader(const std::string& path);
  //! Next document, or nullopt at the end. Errors: invalid JSON or UTF-8, not an object, `_id` missing, empty,
  //! over 1024 bytes or not a string, `text` missing or not a string, `title` not a string.
  std::optional<BeirDocument> next();
  const std::string& path() const { return lines_.path(); }

 private:
  NumberedLineReader lines_;
};

//! Corpus ids with the line each is on (for duplicate and qrels checks); the text is not kept.
using BeirCorpusIds = std::unordered_map<std::string, int64_t>;

//! Reads the whole corpus once, checking every line; errors as BeirCorpusReader::next(), plus a duplicate `_id`
//! (naming both lines) and a corpus with no documents.
BeirCorpusIds scan_beir_corpus(const std::string& path);

//! Every query of queries.jsonl, in file order. Errors as for the corpus, plus an empty (or whitespace-only) query
//! text, a duplicate `_id` and a file with no queries.
std::vector<BeirQuery> read_beir_queries(const std::string& path);

struct BeirQrels {
  //! query id -> its judgements (corpus id -> grade).
  std::unordered_map<std::string, Judgements> by_query;
  int64_t n_judgements = 0;  //!< lines kept
  //! Lines naming a query or a document that the queries or the corpus do not have: skipped, not an error, so one
  //! stale line does not block an evaluation. `warnings` names the first few ("qrels.tsv:7: unknown corpus-id ...").
  int64_t n_skipped_unknown_query = 0, n_skipped_unknown_document = 0;
  std::vector<std::string> warnings;
};

//! Reads qrels.tsv. A first line whose score field is not an integer is a header and skipped (BEIR writes
//! "query-id\tcorpus-id\tscore"). Errors: not 3 tab-separated fields, an empty id, a score that is not an integer
//! (after the first line), invalid UTF-8, the same (query, document) pair twice, and no usable judgement at all.
//! `is_query` / `is_document` say which ids exist.
BeirQrels read_beir_qrels(const std::string& path, const std::function<bool(const std::string&)>& is_query,
                          const std::function<bool(const std::string&)>& is_document);

}  // namespace qembed::kb
