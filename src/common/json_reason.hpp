#pragma once
// nlohmann::json's parse errors read "[json.exception.parse_error.101] parse error at line 1, column 9: syntax
// error ...". Readers that name the file, line and byte themselves keep only the reason.
#include <string>

namespace qembed {

//! The reason part of a nlohmann::json exception message (the whole message when it has no known prefix).
inline std::string json_error_reason(const std::string& what) {
  std::string r = what;
  if (r.rfind("[json.exception.", 0) == 0) {
    if (size_t close = r.find("] "); close != std::string::npos) r = r.substr(close + 2);
  }
  if (r.rfind("parse error", 0) == 0) {
    if (size_t colon = r.find(": "); colon != std::string::npos) r = r.substr(colon + 2);
  }
  return r;
}

}  // namespace qembed
