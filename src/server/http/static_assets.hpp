#pragma once
// Files compiled into the binary (the web UI, from web/): a generated table (cmake/embed_web_assets.cmake) of
// paths, content types and bytes. The transport knows nothing of what they are; server/api/web_ui.cpp serves them.
#include <span>
#include <string_view>

namespace qembed::server {

struct StaticAsset {
  std::string_view path;          //!< relative to web/ ("app.js", "pages/search.js")
  std::string_view content_type;  //!< the Content-Type it is served with
  std::string_view bytes;
};

//! Every file of web/, sorted by path.
std::span<const StaticAsset> web_assets();
//! A hash of every file's path and bytes: the assets' URL folder (/ui/<version>/), so they can be cached forever.
std::string_view web_assets_version();

//! The asset at `path`, or nullptr.
const StaticAsset* find_web_asset(std::string_view path);

}  // namespace qembed::server
