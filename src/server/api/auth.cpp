#include "server/api/auth.hpp"

#include <fstream>

#include "common/error.hpp"

namespace qembed::server::api {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

//! 1 when equal, 0 otherwise, in time that depends only on `key.size()` (never on where they differ, nor on the
//! presented token's length). volatile keeps the compiler from turning the loop into an early-exit memcmp.
unsigned constant_time_equal(std::string_view key, std::string_view presented) {
  volatile unsigned char diff = key.size() == presented.size() ? 0 : 1;
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(key[i]) ^ p));
  }
  return diff == 0 ? 1u : 0u;
}

}  // namespace

RoleSet parse_role(std::string_view name) {
  if (name == "admin") return kRoleAdmin;
  if (name == "embed") return kRoleEmbed;
  if (name == "search") return kRoleSearch;
  return 0;
}

std::string role_names(RoleSet roles) {
  std::string out;
  for (auto [bit, name] : {std::pair{kRoleAdmin, "admin"}, {kRoleEmbed, "embed"}, {kRoleSearch, "search"}}) {
    if (roles & bit) out += out.empty() ? name : std::string(", ") + name;
  }
  return out.empty() ? "none" : out;
}

ApiKey parse_api_key(std::string_view spec, const std::string& where) {
  spec = trim(spec);
  ApiKey k;
  std::string_view key = spec;
  if (size_t colon = spec.rfind(':'); colon != std::string_view::npos) {
    const std::string_view role = spec.substr(colon + 1);
    k.roles = parse_role(role);
    if (k.roles == 0) {
      throw Error(where + ": unknown role \"" + std::string(role) +
                  "\" after the last ':' (KEY[:ROLE] with ROLE admin, embed or search)");
    }
    key = spec.substr(0, colon);
  }
  if (key.empty()) throw Error(where + ": the key is empty (KEY[:ROLE])");
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      throw Error(where + ": a key may not contain spaces or control characters");
    }
  }
  k.key = std::string(key);
  return k;
}

std::vector<ApiKey> read_api_key_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error("--api-key-file " + path + ": cannot be read");
  std::vector<ApiKey> keys;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    keys.push_back(parse_api_key(l, "--api-key-file " + path + " line " + std::to_string(n)));
  }
  if (f.bad()) throw Error("--api-key-file " + path + ": read error");
  if (keys.empty()) throw Error("--api-key-file " + path + " holds no key");
  return keys;
}

KeyRing::KeyRing(std::vector<ApiKey> keys) : keys_(std::move(keys)) {}

KeyMatch KeyRing::match(std::string_view authorization) const {
  std::string_view h = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (h.size() <= kScheme.size() || !iequals(h.substr(0, kScheme.size()), kScheme) ||
      (h[kScheme.size()] != ' ' && h[kScheme.size()] != '\t')) {
    return {};
  }
  const std::string_view token = trim(h.substr(kScheme.size()));
  KeyMatch m;
  for (size_t i = 0; i < keys_.size(); ++i) {
    // A branch-free select: every key is compared, whatever matched before.
    const unsigned match = constant_time_equal(keys_[i].key, token);
    m.roles = static_cast<RoleSet>(m.roles | (keys_[i].roles & static_cast<RoleSet>(0u - match)));
    const size_t mask = size_t{0} - match;
    m.index = (m.index & ~mask) | (i & mask);
  }
  return m;
}

}  // namespace qembed::server::api
