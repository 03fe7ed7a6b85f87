#pragma once
// API keys with roles. A key is configured as KEY[:ROLE] (--api-key, repeatable, or one per line in
// --api-key-file); without a role it is an admin key, as the single --api-key always was. Each route names the
// roles allowed on it (routes.hpp); a request without a valid key gets 401, a valid key without the role 403.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qembed::server::api {

//! Roles as bits of a RoleSet.
enum Role : uint8_t {
  kRoleAdmin = 1,   //!< everything, /metrics included
  kRoleEmbed = 2,   //!< embeddings, tokenize (later rerank and search) and the read-only routes
  kRoleSearch = 4,  //!< knowledge-base search and reads (for now: /info, /v1/models, /api/tags, /api/version)
};
using RoleSet = uint8_t;
//! A route anyone may call, key or not (/health, /openapi.json, CORS preflight).
inline constexpr RoleSet kPublic = 0;

//! "admin" | "embed" | "search" -> the role; 0 for anything else.
RoleSet parse_role(std::string_view name);
//! "admin", "admin,embed"... for messages.
std::string role_names(RoleSet roles);

struct ApiKey {
  std::string key;
  RoleSet roles = kRoleAdmin;
};

//! Parses KEY[:ROLE] (`where` names the flag or file line in errors): the role is what follows the last ':'; an
//! unknown role or an empty key is an Error (a typo must not turn into an admin key).
ApiKey parse_api_key(std::string_view spec, const std::string& where);
//! Reads a key file: one KEY[:ROLE] per line; blank lines and lines starting with '#' are skipped; surrounding
//! whitespace is trimmed. Error naming the file (and line) when it cannot be read or a line is invalid.
std::vector<ApiKey> read_api_key_file(const std::string& path);

//! The key an Authorization header presents: its roles (0: none matched) and its position among the configured keys
//! (what per-key limits count against; a key's text is never logged).
struct KeyMatch {
  RoleSet roles = 0;
  size_t index = 0;  //!< valid when roles != 0
};

class KeyRing {
 public:
  KeyRing() = default;
  explicit KeyRing(std::vector<ApiKey> keys);

  //! No keys configured: every route is open.
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  //! The roles of the key in an Authorization header value ("Bearer KEY", scheme case-insensitive); 0 when the
  //! header is missing, malformed or no key matches. Compares against every key, each in time that depends only
  //! on the configured key's length, without stopping at a match.
  RoleSet authenticate(std::string_view authorization) const { return match(authorization).roles; }
  //! authenticate() with the matching key's position (the last one when a key is configured twice).
  KeyMatch match(std::string_view authorization) const;

 private:
  std::vector<ApiKey> keys_;
};

}  // namespace qembed::server::api
