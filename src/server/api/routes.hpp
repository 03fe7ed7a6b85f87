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

//! Who may call a route.
inline constexpr RoleSet kEmbedRoles = kRoleAdmin | kRoleEmbed;               //!< computing embeddings/tokens
inline constexpr RoleSet kReadRoles = kRoleAdmin | kRoleEmbed | kRoleSearch;  //!< describing the model
inline constexpr RoleSet kAdminRoles = kRoleAdmin;                            //!< operations

struct Route {
  boost::beast::http::verb method;
  std::string path;  //!< exact path, or a prefix when `prefix` ("/v1/models/" + id)
  bool prefix = false;
  RoleSet roles = kPublic;  //!< kPublic: no key needed
  std::string label;        //!< metrics label
  Dialect dialect = Dialect::kOpenAI;
  bool needs_model = false;  //!< 503 while the model loads
  bool takes_slot = false;   //!< holds a --max-concurrent-requests slot (429 past it)
  Handler handler;
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

// One function per dialect adds its routes (openai.cpp, tei.cpp, ollama.cpp, ops.cpp).
void add_openai_routes(RouteTable& table);
void add_tei_routes(RouteTable& table);
void add_ollama_routes(RouteTable& table);
void add_ops_routes(RouteTable& table);
//! Every route.
RouteTable make_route_table();

//! The dialect of a path no route matches (for its 404): Ollama under /api/, else OpenAI.
Dialect dialect_of_unknown_path(std::string_view path);

//! The OpenAPI 3 document (openapi.cpp): every route of make_route_table().
const std::string& openapi_json();

}  // namespace qembed::server::api
