#pragma once
// JSONL input/output for the CLI: one JSON object per line, errors naming the line number.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qembed::cli {

//! Reads `{"text": ...}` objects from a file, a pipe or stdin ("-"), each line read once (a FIFO or /dev/stdin
//! is consumed as it is read). Blank lines are skipped.
class JsonlReader {
 public:
  //! Opens the input now (so a missing file or a directory is reported before a model loads).
  explicit JsonlReader(const std::string& path);
  ~JsonlReader();
  //! Next object, or nullopt at end of input. Errors: invalid JSON or UTF-8, not an object, missing or non-string
  //! "text" — each naming the line.
  std::optional<nlohmann::json> next();
  int64_t line_number() const { return line_no_; }
  //! The "text" field of the object last returned.
  static const std::string& text_of(const nlohmann::json& obj);
  //! Lines in the input when it is a regular file (for a progress total), else 0: a pipe cannot be read twice.
  int64_t count_lines_if_regular() const;

 private:
  std::string path_;
  std::string open_path_;  // as given ("" for stdin)
  FILE* fp_ = nullptr;
  bool owns_ = false;
  bool regular_ = false;
  int64_t line_no_ = 0;
};

//! Writes lines to a file or stdout ("-"); Error on I/O failure.
class LineWriter {
 public:
  explicit LineWriter(const std::string& path);
  ~LineWriter();
  void write_line(const std::string& line);
  void flush();

 private:
  std::string path_;
  FILE* fp_ = nullptr;
  bool owns_ = false;
};

//! `{"index": i, <carried fields>, "embedding": [...], "n_tokens": n}` with floats in shortest round-trip form.
std::string embedding_line(int64_t index, const nlohmann::json& carried, const std::vector<float>& embedding,
                           int64_t n_tokens);
//! Appends the shortest round-trip decimal form of each float, comma-separated, inside [ ].
void append_float_array(std::string& out, const std::vector<float>& values);

}  // namespace qembed::cli
