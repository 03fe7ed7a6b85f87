// The Qwen2 pre-tokenizer on its own: which pieces each regex alternative produces.
#include "tokenizer/pretokenize.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qembed {
namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string_view> pieces;
  pretokenize_qwen2(text, pieces);
  return {pieces.begin(), pieces.end()};
}
using Pieces = std::vector<std::string>;

TEST(Pretokenize, Contractions) {
  EXPECT_EQ(split("don't"), (Pieces{"don", "'t"}));
  EXPECT_EQ(split("DON'T"), (Pieces{"DON", "'T"}));
  EXPECT_EQ(split("we'Ll"), (Pieces{"we", "'Ll"}));
  EXPECT_EQ(split("it'sx"), (Pieces{"it", "'s", "x"}));
  // Case folding is ASCII-only (as in the JS oracle): long s is a letter, so "'ſ" is a letter-run piece.
  EXPECT_EQ(split("x'\u017F"), (Pieces{"x", "'\u017F"}));
  EXPECT_EQ(split("'x"), (Pieces{"'x"}));
}

TEST(Pretokenize, LettersTakeOnePrefixCharacter) {
  EXPECT_EQ(split("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("(x+y)"), (Pieces{"(x", "+y", ")"}));
  EXPECT_EQ(split("\tword"), (Pieces{"\tword"}));
  EXPECT_EQ(split("\nword"), (Pieces{"\n", "word"}));  // \r and \n never prefix a word
  EXPECT_EQ(split("1a"), (Pieces{"1", "a"}));          // nor do digits
}

TEST(Pretokenize, DigitsOneAtATime) { EXPECT_EQ(split("x 2024"), (Pieces{"x", " ", "2", "0", "2", "4"})); }

TEST(Pretokenize, PunctuationRunsKeepTrailingNewlines) {
  EXPECT_EQ(split("a ...\n\nb"), (Pieces{"a", " ...\n\n", "b"}));
  EXPECT_EQ(split("):\r\n    x"), (Pieces{"):\r\n", "   ", " x"}));
}

TEST(Pretokenize, WhitespaceRuns) {
  EXPECT_EQ(split("a   b"), (Pieces{"a", "  ", " b"}));          // the last space joins the word
  EXPECT_EQ(split("a   "), (Pieces{"a", "   "}));                // at the end the run stays whole
  EXPECT_EQ(split("a \n \n b"), (Pieces{"a", " \n \n", " b"}));  // \s*[\r\n]+ ends at the last newline
  EXPECT_EQ(split("a \t1"), (Pieces{"a", " ", "\t", "1"}));
  EXPECT_EQ(split("\u3000\u3000x"), (Pieces{"\u3000", "\u3000x"}));
  EXPECT_EQ(split("a\u0085\u0085"), (Pieces{"a", "\u0085\u0085"}));  // U+0085 is white space
  EXPECT_EQ(split("a\uFEFF\uFEFF"), (Pieces{"a", "\uFEFF\uFEFF"}));  // U+FEFF is not: an "other" run
}

TEST(Pretokenize, CombiningMarksAreNotLetters) { EXPECT_EQ(split("e\u0301x"), (Pieces{"e", "\u0301x"})); }

TEST(Pretokenize, PiecesCoverTheText) {
  const std::string text = "Mixed: 我们, émoji 👍🏽\r\n\t 12 'RE x  \u00A0y";
  std::string joined;
  for (const auto& p : split(text)) joined += p;
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace qembed
