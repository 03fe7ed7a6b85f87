#pragma once
// The parts of a request target the API reads: percent-decoded path segments and query parameters
// (`?status=indexed&after=12&limit=50`).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qembed::server::api {

//! %XX escapes decoded (a malformed escape is kept as it is); `plus_is_space` for query strings (form encoding).
std::string percent_decode(std::string_view s, bool plus_is_space = false);

//! The query string of a target ("/a?b=1" -> "b=1"; "" when none).
std::string_view query_string(std::string_view target);

//! Query parameters in order, names and values percent-decoded (`a` alone gives an empty value).
std::vector<std::pair<std::string, std::string>> query_params(std::string_view target);

//! The last value of a query parameter; nullopt when absent.
std::optional<std::string> query_param(const std::vector<std::pair<std::string, std::string>>& params,
                                       std::string_view name);

}  // namespace qembed::server::api
