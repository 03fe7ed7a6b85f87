#include "server/api/response_writers.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace qembed::server::api {

using nlohmann::json;

void append_float_array(std::string& out, const std::vector<float>& v) {
  out += '[';
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    float x = std::isfinite(v[i]) ? v[i] : 0.0f;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, end);
  }
  out += ']';
}

std::string base64_floats(const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  static const char* A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const size_t n = v.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t w = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    out += A[w >> 18];
    out += A[(w >> 12) & 63];
    out += A[(w >> 6) & 63];
    out += A[w & 63];
  }
  if (i < n) {
    uint32_t w = uint32_t(p[i]) << 16;
    if (i + 1 < n) w |= uint32_t(p[i + 1]) << 8;
    out += A[w >> 18];
    out += A[(w >> 12) & 63];
    out += i + 1 < n ? A[(w >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void append_json_string(std::string& out, const std::string& s) {
  out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace qembed::server::api
