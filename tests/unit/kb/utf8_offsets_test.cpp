#include "kb/text/utf8_offsets.hpp"

#include <gtest/gtest.h>

namespace qembed::kb {
namespace {

TEST(Utf8Offsets, CountsCodePointsNotBytes) {
  const std::string_view text = "a合同é😀z";  // 1 + 3 + 3 + 2 + 4 + 1 bytes
  EXPECT_EQ(code_point_count(text), 6);
  EXPECT_EQ(code_points_before(text, 1), 1);
  EXPECT_EQ(code_points_before(text, 4), 2);    // after 合
  EXPECT_EQ(code_points_before(text, 2), 2);    // inside 合: it is counted
  EXPECT_EQ(code_points_before(text, 100), 6);  // past the end: the whole text
  EXPECT_EQ(code_points_before("", 0), 0);
}

}  // namespace
}  // namespace qembed::kb
