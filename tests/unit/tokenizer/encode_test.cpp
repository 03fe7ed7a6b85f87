#include <gtest/gtest.h>

#include "tokenizer_test_util.hpp"

namespace qembed {
namespace {

using test::qwen3_tokenizer;

TEST(TokenizerEncode, HelloWorld) {
  EXPECT_EQ(qwen3_tokenizer().encode("Hello world"), (std::vector<int32_t>{9707, 1879}));
}

}  // namespace
}  // namespace qembed
