#pragma once
// Byte offsets <-> Unicode code point offsets in UTF-8 text. The knowledge base stores and cuts text by byte
// offset, while its API and CLI give `start`/`end` in code points (what JavaScript, Python and browsers count).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qembed::kb {

//! Code points in text[0, byte_offset). A continuation byte (10xxxxxx) does not start a code point, so an offset
//! inside a multi-byte sequence counts the sequence it is in.
int64_t code_points_before(std::string_view text, size_t byte_offset);

//! Code points in the whole text.
inline int64_t code_point_count(std::string_view text) { return code_points_before(text, text.size()); }

}  // namespace qembed::kb
