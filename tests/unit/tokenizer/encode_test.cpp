// Token ids of the real Qwen3 tokenizer against values taken from the HF tokenizers oracle
// (@huggingface/tokenizers, encode without special tokens). The corpus-wide comparison lives in
// tests/oracle/tokenizer_parity.mjs; these pin one case per rule so a failure points at the rule.
#include <gtest/gtest.h>

#include <thread>

#include "common/error.hpp"
#include "tokenizer_test_util.hpp"

namespace qembed {
namespace {

using test::qwen3_tokenizer;
using Ids = std::vector<int32_t>;

TEST(TokenizerEncode, KnownIdsFromOracle) {
  const Tokenizer& tok = qwen3_tokenizer();
  EXPECT_EQ(tok.encode("Hello world"), (Ids{9707, 1879}));
  // Contractions match case-insensitively: 'T and 'M are pieces (and tokens); 'LL is a piece that BPE leaves as
  // "'" + "LL" because the vocabulary has no "'LL".
  EXPECT_EQ(tok.encode("DON'T PANIC, I'M sure WE'LL be fine."),
            (Ids{84641, 17323, 72281, 1317, 11, 358, 27603, 2704, 19677, 6, 4086, 387, 6915, 13}));
  EXPECT_EQ(tok.encode("我们使用向量嵌入。"), (Ids{97639, 37029, 69041, 32757, 103767, 17254, 1773}));
  EXPECT_EQ(tok.encode("def f(x):\n    return x\n"), (Ids{750, 282, 2075, 982, 262, 470, 856, 198}));
  EXPECT_EQ(tok.encode("👨‍👩‍👧"), (Ids{145367, 378, 235, 145233, 378, 235, 145665}));
}

TEST(TokenizerEncode, DigitsSplitOneByOne) { EXPECT_EQ(qwen3_tokenizer().encode("12345"), (Ids{16, 17, 18, 19, 20})); }

TEST(TokenizerEncode, WhitespaceRuns) {
  const Tokenizer& tok = qwen3_tokenizer();
  // "  x\n\n  y  ": a space run gives its last space to the next word; trailing spaces stay together.
  EXPECT_EQ(tok.encode("  x\n\n  y  "), (Ids{220, 856, 271, 220, 379, 256}));
  EXPECT_EQ(tok.encode("a\r\n\r\nb"), (Ids{64, 871, 65}));
}

TEST(TokenizerEncode, UnicodeWhitespaceFollowsWhiteSpaceProperty) {
  // U+00A0, U+3000 and U+0085 are \s; U+FEFF is not (it is "other"), unlike JavaScript's own \s.
  EXPECT_EQ(qwen3_tokenizer().encode("a\u00A0b\u3000c\u0085d\uFEFFe"),
            (Ids{64, 4102, 65, 22441, 66, 126, 227, 67, 3225, 68}));
}

TEST(TokenizerEncode, NfcBeforePreTokenizer) {
  const Tokenizer& tok = qwen3_tokenizer();
  EXPECT_EQ(tok.encode("Cafe\u0301"), (Ids{34, 2577, 963}));
  EXPECT_EQ(tok.encode("Cafe\u0301"), tok.encode("Caf\u00e9"));
  EXPECT_EQ(tok.encode("\u1100\u1161\u11A8"), tok.encode("\uAC01"));  // Hangul jamo compose to a syllable
}

TEST(TokenizerEncode, SpecialTokenLiteralsAreSingleTokens) {
  const Tokenizer& tok = qwen3_tokenizer();
  EXPECT_EQ(tok.encode("a<|endoftext|>b"), (Ids{64, 151643, 65}));
  EXPECT_EQ(tok.encode("<|im_start|>user\nHi<|im_end|>"), (Ids{151644, 872, 198, 13048, 151645}));
  EXPECT_EQ(tok.encode("<think>\n</think>"), (Ids{151667, 198, 151668}));
  EXPECT_EQ(tok.encode("<|endoftext|><|endoftext|>"), (Ids{151643, 151643}));
  // Near misses are ordinary text.
  for (const int32_t id : tok.encode("<|endoftext|")) EXPECT_FALSE(tok.is_added_token(id));
}

TEST(TokenizerEncode, EmptyTextGivesNoTokens) { EXPECT_TRUE(qwen3_tokenizer().encode("").empty()); }

TEST(TokenizerEncode, InvalidUtf8NamesTheByteOffset) {
  const Tokenizer& tok = qwen3_tokenizer();
  const auto message_of = [&](std::string_view text) {
    try {
      tok.encode(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(message_of("abc\xFF").find("byte offset 3"), std::string::npos) << message_of("abc\xFF");
  EXPECT_NE(message_of("ok \xC3").find("byte offset 3"), std::string::npos);           // cut off
  EXPECT_NE(message_of("\xC0\xAF").find("byte offset 0"), std::string::npos);          // overlong '/'
  EXPECT_NE(message_of("xx\xED\xA0\x80").find("byte offset 2"), std::string::npos);    // UTF-16 surrogate
  EXPECT_NE(message_of("\xF4\x90\x80\x80").find("byte offset 0"), std::string::npos);  // above U+10FFFF
  EXPECT_NE(message_of("ab\x80").find("byte offset 2"), std::string::npos);            // stray continuation
  EXPECT_NE(message_of("é\xE4\xB8z").find("byte offset 2"), std::string::npos);        // missing continuation
}

TEST(TokenizerEncode, NulAndControlBytesAreText) {
  const Ids ids = qwen3_tokenizer().encode(std::string_view("a\0b\x01", 4));
  EXPECT_FALSE(ids.empty());
}

TEST(TokenizerEncode, TokenBytesRoundTrip) {
  const Tokenizer& tok = qwen3_tokenizer();
  const std::string text = "Hello world, 我们 👨‍👩‍👧 e\u0301<|im_end|>\n\t";
  std::string decoded;
  for (const int32_t id : tok.encode(text)) decoded += tok.token_bytes(id);
  EXPECT_EQ(decoded, "Hello world, 我们 👨‍👩‍👧 \u00e9<|im_end|>\n\t");  // NFC-composed é
  EXPECT_EQ(tok.token_bytes(1879), " world");
  EXPECT_TRUE(tok.is_added_token(151643));
  EXPECT_FALSE(tok.is_added_token(1879));
  EXPECT_EQ(tok.eos_id(), 151643);
  EXPECT_EQ(tok.n_vocab(), 151669);
  EXPECT_THROW(tok.token_bytes(-1), Error);
  EXPECT_THROW(tok.token_bytes(tok.n_vocab()), Error);
}

TEST(TokenizerEncode, LongPathologicalPiecesFinish) {
  // One 200 kB piece: the merge loop is O(n log n), so this takes milliseconds, not minutes.
  const Ids ids = qwen3_tokenizer().encode(std::string(200000, 'a'));
  EXPECT_EQ(ids.size(), 200000u / 8);  // "aaaaaaaa" is one token
}

TEST(TokenizerEncode, ConcurrentCallsMatchSequentialOnes) {
  const Tokenizer& tok = qwen3_tokenizer();
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("Document " + std::to_string(i) + ": the quick brown fox's " + std::string(i % 7, ' ') +
                    "jumps 我们 <|im_end|> over " + std::to_string(i * 7919) + " lazy dogs\n");
  }
  std::vector<Ids> expected;
  for (const auto& t : texts) expected.push_back(tok.encode(t));
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i * 7 + t + round) % texts.size();
          if (tok.encode(texts[k]) != expected[k]) ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace qembed
