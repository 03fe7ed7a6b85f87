#include "server/api/url.hpp"

namespace qembed::server::api {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view query_string(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::vector<std::pair<std::string, std::string>> query_params(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query_string(target);
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    out.emplace_back(percent_decode(item.substr(0, eq), true),
                     eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1), true));
  }
  return out;
}

std::optional<std::string> query_param(const std::vector<std::pair<std::string, std::string>>& params,
                                       std::string_view name) {
  std::optional<std::string> value;
  for (const auto& [k, v] : params) {
    if (k == name) value = v;
  }
  return value;
}

}  // namespace qembed::server::api
