#pragma once
// X-Request-Id: a client's id is echoed back when it is sane; otherwise the server makes one that is unique across
// restarts (a random 64-bit prefix drawn once per process, then a counter).
#include <string>
#include <string_view>

namespace qembed::server {

//! Longest incoming X-Request-Id that is echoed back.
inline constexpr size_t kMaxRequestIdBytes = 128;

//! 1..kMaxRequestIdBytes printable ASCII characters without spaces (safe in a header and a log line).
bool is_sane_request_id(std::string_view id);
//! A new id: "<16 hex digits of this process>-<counter>", e.g. "9f86d081884c7d65-42". Thread-safe.
std::string new_request_id();
//! `incoming` when sane, else a new id.
std::string request_id_for(std::string_view incoming);

}  // namespace qembed::server
