// The web UI: GET / (index.html), GET /ui/<version>/<file> (its scripts, styles and icons), compiled into the
// binary from web/ (server/http/static_assets.hpp), and GET /v1/whoami (what the presented key may do). Public routes:
// the page must load before it can ask for an API key; every API call it then makes carries the key like any client's.
// They run on the I/O thread (a lookup in a sorted table and a copy of at most 32 KiB: the build refuses larger
// assets, so each is a small response) and hold no concurrency slot, like /health.
//
// Caching: index.html is "no-cache" (revalidated on every load, so a new build shows at once); the assets sit under
// a folder named by the hash of all of web/, so they are "immutable" for a year. A request for another version's
// folder is a 404: a stale page must reload, never mix old and new scripts.
// Every response carries a Content-Security-Policy without 'unsafe-inline' (scripts and styles come from files
// only, nothing from another origin), nosniff, and refuses framing.
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "server/api/routes.hpp"
#include "server/http/static_assets.hpp"

namespace qembed::server::api {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kAssetPrefix = "/ui/";

//! img-src allows data: for the canvas images the charts export; connect-src 'self' is the API.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void reply_asset(ApiEnv& env, const CallPtr& call, const StaticAsset& asset, bool immutable) {
  call->headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  call->headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  call->headers.emplace_back("X-Content-Type-Options", "nosniff");
  call->headers.emplace_back("X-Frame-Options", "DENY");
  call->headers.emplace_back("Referrer-Policy", "no-referrer");
  env.responder.reply(call, 200, std::string(asset.bytes), asset.content_type);
}

void index_page(ApiEnv& env, const CallPtr& call, Request&) {
  const StaticAsset* index = find_web_asset("index.html");
  if (!index) throw ApiError(Failure::kRouteNotFound, "this build has no web UI");
  reply_asset(env, call, *index, false);
}

void asset(ApiEnv& env, const CallPtr& call, Request&) {
  std::string_view rest = std::string_view(call->path).substr(kAssetPrefix.size());
  const std::string_view version = web_assets_version();
  const bool this_version =
      rest.size() > version.size() && rest.substr(0, version.size()) == version && rest[version.size()] == '/';
  const StaticAsset* found = this_version ? find_web_asset(rest.substr(version.size() + 1)) : nullptr;
  if (!found || found->path == "index.html") {
    throw ApiError(Failure::kRouteNotFound, this_version ? "no such file in the web UI: " + call->path.substr(0, 200)
                                                         : "the web UI was rebuilt since this page loaded: reload /");
  }
  reply_asset(env, call, *found, true);
}

//! GET /v1/whoami: whether keys are required and what the presented key may do, so the UI asks for a key only when
//! one is needed and shows only the pages its role allows, without probing routes that would answer 401/403.
//! Public: it tells nothing a 401 would not (an invalid key is "authenticated": false).
void whoami(ApiEnv& env, const CallPtr& call, Request& req) {
  const bool keys_required = env.keys && !env.keys->empty();
  RoleSet roles = kRoleAdmin | kRoleEmbed | kRoleSearch;
  if (keys_required) {
    auto it = req.find(http::field::authorization);
    roles = env.keys->authenticate(it == req.end() ? std::string_view()
                                                   : std::string_view(it->value().data(), it->value().size()));
  }
  nlohmann::json role_list = nlohmann::json::array();
  if (roles & kRoleAdmin) role_list.push_back("admin");
  if (roles & kRoleEmbed) role_list.push_back("embed");
  if (roles & kRoleSearch) role_list.push_back("search");
  const nlohmann::json body = {{"keys_required", keys_required},
                               {"authenticated", roles != 0},
                               {"roles", std::move(role_list)},
                               {"knowledge_base", env.has_kb()},
                               {"ready", env.state.load() == ServerState::kReady}};
  call->headers.emplace_back("Cache-Control", "no-store");
  json_reply(env, call, body.dump());
}

}  // namespace

void add_web_ui_routes(RouteTable& t) {
  t.add({http::verb::get, "/", false, kPublic, "/ui", Dialect::kOpenAI, false, false, index_page});
  t.add({http::verb::get, std::string(kAssetPrefix), true, kPublic, "/ui", Dialect::kOpenAI, false, false, asset});
  t.add({http::verb::get, "/v1/whoami", false, kPublic, "/v1/whoami", Dialect::kOpenAI, false, false, whoami});
}

}  // namespace qembed::server::api
