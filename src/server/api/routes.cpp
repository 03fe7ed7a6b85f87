#include "server/api/routes.hpp"

#include "server/api/url.hpp"

namespace qembed::server::api {

bool match_path_pattern(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  if (params) params->clear();
  for (;;) {
    const size_t brace = pattern.find('{');
    if (brace == std::string_view::npos) return pattern == path;
    if (path.substr(0, brace) != pattern.substr(0, brace)) return false;
    pattern.remove_prefix(brace);
    path.remove_prefix(brace);
    const size_t close = pattern.find('}');
    if (close == std::string_view::npos) return false;
    pattern.remove_prefix(close + 1);
    const size_t segment_end = std::min(path.find('/'), path.size());
    const std::string value = percent_decode(path.substr(0, segment_end));
    if (value.empty() || value.find('\0') != std::string::npos) return false;
    if (params) params->push_back(value);
    path.remove_prefix(segment_end);
  }
}

RouteTable::Match RouteTable::find(boost::beast::http::verb method, std::string_view path) const {
  Match m;
  for (const Route& r : routes_) {
    const bool path_ok = r.prefix ? path.size() > r.path.size() && path.substr(0, r.path.size()) == r.path
                         : r.path.find('{') != std::string::npos ? match_path_pattern(r.path, path)
                                                                 : path == r.path;
    if (!path_ok) continue;
    if (r.method == method) {
      m.route = &r;
      return m;
    }
    if (!m.other_verb) m.other_verb = &r;
  }
  return m;
}

RouteTable make_route_table(bool with_kb) {
  RouteTable t;
  add_ops_routes(t);
  add_openai_routes(t);
  add_tei_routes(t);
  add_rerank_routes(t);
  add_ollama_routes(t);
  if (with_kb) add_kb_routes(t);
  add_web_ui_routes(t);
  return t;
}

Dialect dialect_of_unknown_path(std::string_view path) {
  return path.substr(0, 5) == "/api/" ? Dialect::kOllama : Dialect::kOpenAI;
}

}  // namespace qembed::server::api
