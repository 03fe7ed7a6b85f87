#include "server/http/static_assets.hpp"

#include <algorithm>

namespace qembed::server {

const StaticAsset* find_web_asset(std::string_view path) {
  const std::span<const StaticAsset> assets = web_assets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const StaticAsset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

}  // namespace qembed::server
