#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

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

// JSON string escaping; bytes >= 0x80 pass through (callers log UTF-8; invalid bytes are the caller's text).
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
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
    line += "\",\"msg\":\"";
    append_escaped(line, msg);
    line += '"';
    for (const Field& f : fields) {
      line += ",\"";
      append_escaped(line, f.key);
      line += "\":";
      if (f.is_number) {
        line += f.value;
      } else {
        line += '"';
        append_escaped(line, f.value);
        line += '"';
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
