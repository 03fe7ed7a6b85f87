#include "kb/text/utf8_offsets.hpp"

#include <algorithm>

namespace qembed::kb {

int64_t code_points_before(std::string_view text, size_t byte_offset) {
  const size_t n = std::min(byte_offset, text.size());
  int64_t count = 0;
  for (size_t i = 0; i < n; ++i) count += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  return count;
}

}  // namespace qembed::kb
