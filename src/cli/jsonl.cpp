#include "cli/jsonl.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/error.hpp"
#include "common/json_reason.hpp"

namespace qembed::cli {

namespace {
// A line longer than this is refused instead of being buffered without bound (a 32K-token input is < 1 MB).
constexpr size_t kMaxLineBytes = 64u << 20;
}  // namespace

JsonlReader::JsonlReader(const std::string& path)
    : path_(path == "-" ? "<stdin>" : path), open_path_(path == "-" ? "" : path) {
  // /dev/stdin is stdin itself: reopening it fails when stdin is a socket (as under some process runners).
  if (path == "-" || path == "/dev/stdin") {
    open_path_.clear();
    fp_ = stdin;
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      throw Error(path + ": is a directory; --input takes a JSONL file, - or a pipe");
    }
    fp_ = std::fopen(path.c_str(), "rb");
    if (!fp_) throw Error(path + ": cannot open input: " + std::strerror(errno));
    owns_ = true;
  }
  struct stat st {};
  regular_ = ::fstat(::fileno(fp_), &st) == 0 && S_ISREG(st.st_mode);
}

int64_t JsonlReader::count_lines_if_regular() const {
  if (!regular_ || open_path_.empty()) return 0;  // stdin redirected from a file is counted as unknown too
  FILE* fp = std::fopen(open_path_.c_str(), "rb");
  if (!fp) return 0;
  int64_t n = 0;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, fp)) > 0) {
    for (size_t i = 0; i < got; ++i) n += buf[i] == '\n';
  }
  std::fclose(fp);
  return n;
}

JsonlReader::~JsonlReader() {
  if (owns_ && fp_) std::fclose(fp_);
}

std::optional<nlohmann::json> JsonlReader::next() {
  std::string line;
  for (;;) {
    line.clear();
    int ch;
    bool any = false;
    while ((ch = std::fgetc(fp_)) != EOF) {
      any = true;
      if (ch == '\n') break;
      if (line.size() >= kMaxLineBytes) {
        throw Error(path_ + ":" + std::to_string(line_no_ + 1) + ": line longer than " +
                    std::to_string(kMaxLineBytes >> 20) + " MB");
      }
      line.push_back(static_cast<char>(ch));
    }
    if (!any) return std::nullopt;
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (ch == EOF) return std::nullopt;
      continue;
    }
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(path_ + ":" + std::to_string(line_no_) + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                  json_error_reason(e.what()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path_ + ":" + std::to_string(line_no_) + ": invalid JSON: " + json_error_reason(e.what()));
    }
    if (!obj.is_object()) throw Error(path_ + ":" + std::to_string(line_no_) + ": expected a JSON object");
    auto it = obj.find("text");
    if (it == obj.end()) throw Error(path_ + ":" + std::to_string(line_no_) + ": missing field \"text\"");
    if (!it->is_string()) throw Error(path_ + ":" + std::to_string(line_no_) + ": field \"text\" must be a string");
    return obj;
  }
}

const std::string& JsonlReader::text_of(const nlohmann::json& obj) {
  return obj.at("text").get_ref<const std::string&>();
}

LineWriter::LineWriter(const std::string& path) : path_(path) {
  if (path == "-") {
    fp_ = stdout;
  } else {
    fp_ = std::fopen(path.c_str(), "wb");
    if (!fp_) throw Error(path + ": cannot open output: " + std::strerror(errno));
    owns_ = true;
  }
}

LineWriter::~LineWriter() {
  if (owns_ && fp_) std::fclose(fp_);
}

void LineWriter::write_line(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), fp_) != line.size() || std::fputc('\n', fp_) == EOF) {
    throw Error(path_ + ": write failed: " + std::strerror(errno));
  }
}

void LineWriter::flush() {
  if (std::fflush(fp_) != 0) throw Error(path_ + ": write failed: " + std::strerror(errno));
}

void append_float_array(std::string& out, const std::vector<float>& values) {
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, values[i]);
    out.append(buf, end);
  }
  out.push_back(']');
}

std::string embedding_line(int64_t index, const nlohmann::json& carried, const std::vector<float>& embedding,
                           int64_t n_tokens) {
  nlohmann::json head = nlohmann::json::object();
  head["index"] = index;
  for (auto it = carried.begin(); it != carried.end(); ++it) {
    if (it.key() != "text" && it.key() != "index" && it.key() != "embedding" && it.key() != "n_tokens") {
      head[it.key()] = it.value();
    }
  }
  head["n_tokens"] = n_tokens;
  std::string s = head.dump();
  s.pop_back();  // reopen the object to append the vector
  s += ",\"embedding\":";
  append_float_array(s, embedding);
  s.push_back('}');
  return s;
}

}  // namespace qembed::cli
