#pragma once
// Document names from what clients send. A file's name (a multipart filename, or a JSON document's "name") is only
// ever a label: nothing is written to disk under it. It is still cleaned, so that listings, logs and citations show
// a plain name: the last path component (after '/' or '\'), without control characters, with invalid UTF-8 replaced
// by U+FFFD, trimmed, at most 255 bytes. "../../etc/passwd" becomes "passwd"; "..", "." and "dir/" become "", which
// the caller refuses.
#include <string>
#include <string_view>

namespace qembed::server::api {

inline constexpr size_t kMaxDocumentNameBytes = 255;

std::string document_name_from_file_name(std::string_view file_name);

}  // namespace qembed::server::api
