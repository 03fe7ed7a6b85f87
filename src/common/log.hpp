#pragma once
// The one logger every stage uses: leveled lines on stderr, as text ("qembed: warning: ...") or as one JSON object
// per line ({"ts":..., "level":..., "msg":..., fields...}) for log shippers. Thread-safe: a line is written with
// one call, so lines from different threads never interleave. Library code logs through this instead of printing.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qembed::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

//! Lines below `level` are dropped. Default kInfo (QEMBED_LOG_LEVEL=debug|info|warn|error sets it at start-up).
void set_level(Level level);
Level level();
void set_format(Format format);
Format format();
//! "debug" | "info" | "warn" | "error" -> Level; throws Error naming the value otherwise.
Level parse_level(std::string_view name);

//! A structured field of a line: text fields as JSON strings, numbers as numbers.
struct Field {
  std::string key;
  std::string value;
  bool is_number = false;
};
inline Field field(std::string key, std::string value) { return {std::move(key), std::move(value), false}; }
Field field(std::string key, int64_t value);
Field field(std::string key, double value);

//! Writes one line: text "qembed: [level: ]msg k=v ..." (info has no level word), or one JSON object.
void write(Level level, std::string_view msg, const std::vector<Field>& fields = {});

inline void debug(std::string_view msg, const std::vector<Field>& fields = {}) { write(Level::kDebug, msg, fields); }
inline void info(std::string_view msg, const std::vector<Field>& fields = {}) { write(Level::kInfo, msg, fields); }
inline void warn(std::string_view msg, const std::vector<Field>& fields = {}) { write(Level::kWarn, msg, fields); }
inline void error(std::string_view msg, const std::vector<Field>& fields = {}) { write(Level::kError, msg, fields); }

}  // namespace qembed::log
