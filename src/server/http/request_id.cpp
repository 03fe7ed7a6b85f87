#include "server/http/request_id.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

namespace qembed::server {

namespace {

//! Drawn once per process: random_device, mixed with the clock in case random_device is deterministic.
const std::string& process_prefix() {
  static const std::string prefix = [] {
    std::random_device rd;
    uint64_t r = (uint64_t{rd()} << 32) ^ rd();
    r ^= static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) * 0x9E3779B97F4A7C15ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
    return std::string(buf);
  }();
  return prefix;
}

std::atomic<uint64_t> g_counter{0};

}  // namespace

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string new_request_id() { return process_prefix() + "-" + std::to_string(++g_counter); }

std::string request_id_for(std::string_view incoming) {
  return is_sane_request_id(incoming) ? std::string(incoming) : new_request_id();
}

}  // namespace qembed::server
