// The merge loop on a hand-made vocabulary, where the expected result can be worked out by hand.
#include "tokenizer/bpe.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tokenizer/byte_level.hpp"

namespace qembed {
namespace {

// All 256 byte symbols (ids 0..255, in byte order), then the merged tokens listed.
VocabData tiny_vocab(const std::vector<std::pair<std::string, std::string>>& merges) {
  VocabData v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_level::byte_to_utf8(static_cast<uint8_t>(b)));
  for (const auto& [a, b] : merges) v.tokens.push_back(a + b);
  v.token_types.assign(v.tokens.size(), TokenType::Normal);
  v.merges = merges;
  return v;
}

std::vector<int32_t> encode(const BpeMerger& m, std::string_view piece) {
  std::vector<int32_t> out;
  m.encode_piece(piece, out);
  return out;
}

TEST(Bpe, LowestRankFirst) {
  // "abc": (b,c) has rank 0 and beats (a,b); then "a"+"bc" has no merge.
  const BpeMerger m(tiny_vocab({{"b", "c"}, {"a", "b"}}));
  EXPECT_EQ(encode(m, "abc"), (std::vector<int32_t>{'a', 256}));
}

TEST(Bpe, LeftmostOnTies) {
  // "aaa" with one merge (a,a): the left pair merges first, leaving "aa" + "a".
  const BpeMerger m(tiny_vocab({{"a", "a"}}));
  EXPECT_EQ(encode(m, "aaa"), (std::vector<int32_t>{256, 'a'}));
  EXPECT_EQ(encode(m, "aaaa"), (std::vector<int32_t>{256, 256}));
}

TEST(Bpe, MergesChain) {
  const BpeMerger m(tiny_vocab({{"a", "a"}, {"aa", "aa"}, {"aaaa", "a"}}));
  EXPECT_EQ(encode(m, "aaaaa"), (std::vector<int32_t>{258}));
  EXPECT_EQ(encode(m, "aaaaaaa"), (std::vector<int32_t>{257, 256, 'a'}));
}

TEST(Bpe, SpaceIsSpelledAsGWithDot) {
  const BpeMerger m(tiny_vocab({{"Ġ", "a"}}));
  EXPECT_EQ(encode(m, " a"), (std::vector<int32_t>{256}));
}

TEST(Bpe, MergeOfUnknownTokenIsAnError) {
  VocabData v = tiny_vocab({{"a", "b"}});
  v.merges.push_back({"ab", "zz"});
  try {
    BpeMerger m(v);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merge #1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'zz'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qembed
