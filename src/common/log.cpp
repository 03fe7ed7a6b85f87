#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace qembed::log {

namespace {

Level initial_level() {
  const char* env = std::getenv("QEMBED_LOG_LEVEL");
  if (!env || !*env) return Level::kInfo;
  try {
    return parse_level(env);
  } catch (const Error&) {
    return Level::kInfo;  // reported by the CLI, which validates QEMBED_LOG_LEVEL before anything logs
  }
}

std::atomic<Level>& level_ref() {
  static std::atomic<Level> l{initial_level()};
  return l;
}
std::atomic<Format> g_format{Format::kText};

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

// A JSON string literal. Log lines quote outside text (request paths, file names), which may hold invalid UTF-8:
// it is replaced by U+FFFD so every line stays valid JSON (the same rule as the HTTP responses).
void append_json_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void set_level(Level l) { level_ref().store(l); }
Level level() { return level_ref().load(); }
void set_format(Format f) { g_format.store(f); }
Format format() { return g_format.load(); }

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  throw Error("log level must be debug, info, warn or error, got \"" + std::string(name) + "\"");
}

Field field(std::string key, int64_t value) { return {std::move(key), std::to_string(value), true}; }
Field field(std::string key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return {std::move(key), buf, true};
}

void write(Level l, std::string_view msg, const std::vector<Field>& fields) {
  if (static_cast<int>(l) < static_cast<int>(level())) return;
  std::string line;
  line.reserve(64 + msg.size());
  if (format() == Format::kJson) {
    line += "{\"ts\":" + std::to_string(static_cast<int64_t>(std::time(nullptr))) + ",\"level\":\"";
    line += level_name(l);
    line += "\",\"msg\":";
    append_json_string(line, msg);
    for (const Field& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      if (f.is_number) {
        line += f.value;
      } else {
        append_json_string(line, f.value);
      }
    }
    line += "}\n";
  } else {
    line += "qembed: ";
    if (l != Level::kInfo) {
      line += level_name(l);
      line += ": ";
    }
    line += msg;
    for (const Field& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += f.value;
    }
    line += '\n';
  }
  // One fwrite per line: stdio locks the stream for the call, so concurrent lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace qembed::log
