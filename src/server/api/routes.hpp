#pragma once
// The route table: method + path -> handler, the roles allowed, the metrics label and the dialect (which decides
// the error shape). docs/server.md has the same table for users; openapi.json lists every route.
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/api.hpp"
#include "server/api/auth.hpp"

namespace qembed::server::api {

using Handler = std::function<void(ApiEnv& env, const CallPtr& call, Request& req)>;
//! For a route whose bodies may be large (uploads): from the header alone, a sink the body streams into instead of
//! being buffered (http_server.hpp, BodySink), or null to buffer it as usual (within --payload-limit). May throw an
//! ApiError to refuse the request before its body is read.
using BodyStreamer = std::function<std::shared_ptr<BodySink>(ApiEnv& env, const Request& header)>;

//! Who may call a route.
inline constexpr RoleSet kEmbedRoles = kRoleAdmin | kRoleEmbed;               //!< computing embeddings/tokens
inline constexpr RoleSet kReadRoles = kRoleAdmin | kRoleEmbed | kRoleSearch;  //!< describing the model
inline constexpr RoleSet kAdminRoles = kRoleAdmin;                            //!< operations
//! Changing a knowledge base (collections, uploads, deletions, metadata); reading and searching it is kReadRoles.
inline constexpr RoleSet kKbWriteRoles = kRoleAdmin | kRoleEmbed;

struct Route {
  boost::beast::http::verb method;
  //! Exact path; a prefix when `prefix` ("/v1/models/" + id); or a pattern whose `{name}` segments each match one
  //! non-empty path segment ("/v1/kb/collections/{name}/documents"): the handler finds them in Call::path_params.
  std::string path;
  bool prefix = false;
  RoleSet roles = kPublic;  //!< kPublic: no key needed
  std::string label;        //!< metrics label
  Dialect dialect = Dialect::kOpenAI;
  bool needs_model = false;  //!< 503 while the model loads
  bool takes_slot = false;   //!< holds a --max-concurrent-requests slot (429 past it)
  Handler handler;
  BodyStreamer stream_body = nullptr;  //!< set: large bodies stream into a sink (uploads)
};

class RouteTable {
 public:
  void add(Route route) { routes_.push_back(std::move(route)); }
  struct Match {
    const Route* route = nullptr;       //!< method and path match
    const Route* other_verb = nullptr;  //!< only the path matches (405)
  };
  Match find(boost::beast::http::verb method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

//! Whether `path` matches a route path with `{name}` segments; `params` (optional) gets the matched segments,
//! percent-decoded, in order. A segment that decodes to nothing or holds a NUL does not match.
bool match_path_pattern(std::string_view pattern, std::string_view path, std::vector<std::string>* params = nullptr);

// One function per dialect adds its routes (openai.cpp, tei.cpp, ollama.cpp, rerank.cpp, ops.cpp, kb_routes.cpp,
// web_ui.cpp).
void add_openai_routes(RouteTable& table);
void add_tei_routes(RouteTable& table);
void add_ollama_routes(RouteTable& table);
void add_ops_routes(RouteTable& table);
void add_kb_routes(RouteTable& table);
//! POST /v1/rerank (Cohere / Jina shape) and POST /rerank (TEI) (rerank.cpp).
void add_rerank_routes(RouteTable& table);
//! The web UI (web_ui.cpp): GET / and its assets under /ui/.
void add_web_ui_routes(RouteTable& table);
//! Every route; the knowledge base's only when the server has one (--kb).
RouteTable make_route_table(bool with_kb);

//! The dialect of a path no route matches (for its 404): Ollama under /api/, else OpenAI.
Dialect dialect_of_unknown_path(std::string_view path);

//! The OpenAPI 3 document (openapi.cpp): every route of make_route_table(with_kb).
const std::string& openapi_json(bool with_kb);

}  // namespace qembed::server::api
