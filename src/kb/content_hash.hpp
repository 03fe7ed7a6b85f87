#pragma once
// SHA-256 of uploaded bytes, as the store's duplicate detection keys contents (OpenSSL's implementation).
#include <string>
#include <string_view>

namespace qembed::kb {

//! 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace qembed::kb
