#include "server/api/routes.hpp"

namespace qembed::server::api {

RouteTable::Match RouteTable::find(boost::beast::http::verb method, std::string_view path) const {
  Match m;
  for (const Route& r : routes_) {
    const bool path_ok =
        r.prefix ? path.size() > r.path.size() && path.substr(0, r.path.size()) == r.path : path == r.path;
    if (!path_ok) continue;
    if (r.method == method) {
      m.route = &r;
      return m;
    }
    if (!m.other_verb) m.other_verb = &r;
  }
  return m;
}

RouteTable make_route_table() {
  RouteTable t;
  add_ops_routes(t);
  add_openai_routes(t);
  add_tei_routes(t);
  add_ollama_routes(t);
  return t;
}

Dialect dialect_of_unknown_path(std::string_view path) {
  return path.substr(0, 5) == "/api/" ? Dialect::kOllama : Dialect::kOpenAI;
}

}  // namespace qembed::server::api
