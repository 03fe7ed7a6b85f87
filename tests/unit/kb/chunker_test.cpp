#include "kb/text/chunker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "kb/text/utf8_offsets.hpp"

namespace qembed::kb {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool is_word(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
// Whitespace the chunker may leave between chunks: ASCII, NBSP, the ideographic space (bytes it spans at p, or 0).
size_t space_len(std::string_view t, size_t p) {
  if (is_space(t[p])) return 1;
  if (t.substr(p, 2) == "\u00a0") return 2;
  if (t.substr(p, 3) == "\u3000") return 3;
  return 0;
}

// Asserts text[from, to) is only whitespace.
void expect_blank(std::string_view text, size_t from, size_t to) {
  for (size_t p = from; p < to;) {
    const size_t n = space_len(text, p);
    ASSERT_GT(n, 0u) << "uncovered byte at " << p;
    p += n;
  }
}

size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

// One token per ASCII word, per ASCII punctuation character and per non-ASCII code point; whitespace is free.
TokenSpans word_tokens(std::string_view t) {
  TokenSpans out;
  for (size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (is_space(t[i])) {
      ++i;
    } else if (is_word(c)) {
      const size_t s = i;
      while (i < t.size() && is_word(static_cast<unsigned char>(t[i]))) ++i;
      out.emplace_back(s, i);
    } else {
      const size_t n = std::min(utf8_len(c), t.size() - i);
      out.emplace_back(i, i + n);
      i += n;
    }
  }
  return out;
}

// Like a byte-level BPE on rare characters: runs of non-ASCII bytes are cut into 2-byte tokens, so most token
// boundaries fall inside a UTF-8 sequence; a leading space is part of the next word's token.
TokenSpans byte_pair_tokens(std::string_view t) {
  TokenSpans out;
  for (size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c >= 0x80) {
      const size_t s = i;
      while (i < t.size() && static_cast<unsigned char>(t[i]) >= 0x80) ++i;
      for (size_t p = s; p < i; p += 2) out.emplace_back(p, std::min(p + 2, i));
    } else if (is_word(c) || c == ' ') {
      const size_t s = i++;
      while (i < t.size() && is_word(static_cast<unsigned char>(t[i]))) ++i;
      out.emplace_back(s, i);
    } else {
      out.emplace_back(i, i + 1);
      ++i;
    }
  }
  return out;
}

// A tokenizer that adds a token at the start of whatever it is given (like a BOS): a sentence counted inside its
// block has one token less than on its own, so chunks must be checked and cut again.
TokenSpans bos_word_tokens(std::string_view t) {
  TokenSpans s = word_tokens(t);
  s.insert(s.begin(), {0, 0});
  return s;
}

ChunkOptions opts(int chunk_tokens, int overlap_tokens) {
  ChunkOptions o;
  o.chunk_tokens = chunk_tokens;
  o.overlap_tokens = overlap_tokens;
  return o;
}

std::string slice(std::string_view text, const TextChunk& c) { return std::string(text.substr(c.start, c.end - c.start)); }

Block block(Block::Kind kind, size_t start, size_t end, int page = 1, int level = 0) {
  return Block{kind, level, start, end, page};
}

// Builds a document block by block, recording byte ranges.
struct Doc {
  std::string text;
  std::vector<Block> blocks;
  Doc& add(Block::Kind kind, const std::string& s, int page = 1, int level = 0) {
    if (!text.empty()) text += "\n\n";
    blocks.push_back(block(kind, text.size(), text.size() + s.size(), page, level));
    text += s;
    return *this;
  }
  Doc& heading(int level, const std::string& s, int page = 1) { return add(Block::Kind::kHeading, s, page, level); }
  Doc& para(const std::string& s, int page = 1) { return add(Block::Kind::kParagraph, s, page); }
};

std::string sentences(int n, int words, const std::string& tag = "w") {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ' ';
    for (int w = 0; w < words - 1; ++w)
      s += tag + std::to_string(i) + "x" + std::to_string(w) + (w + 2 < words ? " " : "");
    s += ".";  // words - 1 words + the period = `words` tokens
  }
  return s;
}

// Invariants every chunking must keep.
void check_invariants(std::string_view text, const std::vector<TextChunk>& chunks, const TokenizeFn& tok,
                      const ChunkOptions& opt, const std::vector<Block>& blocks) {
  size_t covered_to = 0;
  for (size_t k = 0; k < chunks.size(); ++k) {
    const TextChunk& c = chunks[k];
    SCOPED_TRACE("chunk " + std::to_string(k) + ": [" + slice(text, c) + "]");
    ASSERT_LT(c.start, c.end);
    ASSERT_LE(c.end, text.size());
    EXPECT_TRUE(c.start == text.size() || (static_cast<unsigned char>(text[c.start]) & 0xC0) != 0x80);
    EXPECT_TRUE(c.end == text.size() || (static_cast<unsigned char>(text[c.end]) & 0xC0) != 0x80);
    EXPECT_FALSE(is_space(text[c.start]));
    EXPECT_FALSE(is_space(text[c.end - 1]));
    const int n = static_cast<int>(tok(text.substr(c.start, c.end - c.start)).size());
    EXPECT_EQ(c.n_tokens, n);
    EXPECT_LE(c.n_tokens, opt.chunk_tokens);
    EXPECT_EQ(c.start_cp, code_points_before(text, c.start));
    EXPECT_EQ(c.end_cp, code_points_before(text, c.end));
    EXPECT_LE(c.page_first, c.page_last);
    EXPECT_EQ(c.section, join_section_path(c.section_path));
    if (!opt.prepend_section_path) {
      EXPECT_EQ(c.embed_text, slice(text, c));
    }
    if (k > 0) {
      EXPECT_GT(c.start, chunks[k - 1].start);
      EXPECT_GT(c.end, chunks[k - 1].end);
    }
    // Coverage: nothing but whitespace between what the chunks so far covered and this chunk.
    expect_blank(text, covered_to, c.start);
    covered_to = std::max(covered_to, c.end);
  }
  expect_blank(text, covered_to, text.size());
  // A chunk never overlaps back over a heading that starts a section.
  for (const Block& b : blocks) {
    if (b.kind != Block::Kind::kHeading || b.level > opt.section_break_level) continue;
    const std::string_view h = text.substr(b.start, b.end - b.start);
    if (std::all_of(h.begin(), h.end(), is_space)) continue;  // a blank heading is no heading
    for (size_t k = 1; k < chunks.size(); ++k) {
      if (chunks[k].start <= b.start && b.start < chunks[k].end && chunks[k - 1].end > b.start) {
        ADD_FAILURE() << "chunk " << k - 1 << " runs over the heading at " << b.start << " into chunk " << k;
      }
    }
  }
}

TEST(Chunker, HeadingsStartChunksAndGiveSectionPaths) {
  Doc d;
  d.heading(1, "Intro").para("Hello world.").heading(2, "Setup").para("Install it. Then run it.");
  d.heading(2, "Usage").para("Call it.").heading(1, "Appendix").para("More.");
  const ChunkOptions opt = opts(100, 10);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(slice(d.text, chunks[0]), "Intro\n\nHello world.");
  EXPECT_EQ(chunks[0].section, "Intro");
  EXPECT_EQ(slice(d.text, chunks[1]), "Setup\n\nInstall it. Then run it.");
  EXPECT_EQ(chunks[1].section_path, (std::vector<std::string>{"Intro", "Setup"}));
  EXPECT_EQ(chunks[1].section, "Intro > Setup");
  EXPECT_EQ(chunks[2].section, "Intro > Usage");
  EXPECT_EQ(chunks[3].section, "Appendix");
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, HeadingFollowedBySubheadingStaysTogether) {
  Doc d;
  d.heading(1, "# Guide").heading(2, "Start").para("Text here.").heading(1, "Empty").heading(1, "Next").para("x.");
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opts(50, 0));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(slice(d.text, chunks[0]), "# Guide\n\nStart\n\nText here.");
  EXPECT_EQ(chunks[0].section, "Guide > Start");  // markers dropped from titles
  EXPECT_EQ(slice(d.text, chunks[1]), "Empty");   // a heading with nothing under it is its own chunk
  EXPECT_EQ(chunks[2].section, "Next");
}

TEST(Chunker, SectionBreakLevelMergesDeeperHeadings) {
  Doc d;
  d.heading(1, "A").para("One.").heading(3, "Deep").para("Two.").heading(1, "B").para("Three.");
  ChunkOptions opt = opts(50, 0);
  opt.section_break_level = 2;
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(slice(d.text, chunks[0]), "A\n\nOne.\n\nDeep\n\nTwo.");
  EXPECT_EQ(chunks[0].section, "A");
  EXPECT_EQ(chunks[1].section, "B");
}

TEST(Chunker, PrependedPathIsOnlyInEmbedText) {
  Doc d;
  d.heading(1, "Intro").heading(2, "Setup").para("Install it.");
  ChunkOptions opt = opts(50, 0);
  opt.prepend_section_path = true;
  opt.title = "Manual";
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].embed_text, "Manual > Intro > Setup\n\nIntro\n\nSetup\n\nInstall it.");
  EXPECT_EQ(chunks[0].n_tokens, 5);  // the chunk text only: Intro Setup Install it .
  EXPECT_EQ(chunks[0].start, 0u);
}

TEST(Chunker, SmallBlocksOfASectionAreMerged) {
  Doc d;
  d.heading(1, "List");
  for (int i = 0; i < 6; ++i) d.add(Block::Kind::kListItem, "item " + std::to_string(i));
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opts(100, 0));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].n_tokens, 13);
  // With a budget of 7 tokens: heading + 3 items, then 3 items per chunk, never half an item.
  const ChunkOptions small = opts(7, 0);
  const auto parts = chunk_document(d.text, d.blocks, word_tokens, small);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(slice(d.text, parts[0]), "List\n\nitem 0\n\nitem 1\n\nitem 2");
  EXPECT_EQ(slice(d.text, parts[1]), "item 3\n\nitem 4\n\nitem 5");
}

TEST(Chunker, ABlockThatDoesNotFitStartsTheNextChunk) {
  Doc d;
  d.para("a b c.").para("d e f g h i.").para("j.");
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opts(9, 0));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(slice(d.text, chunks[0]), "a b c.");
  EXPECT_EQ(slice(d.text, chunks[1]), "d e f g h i.\n\nj.");
}

TEST(Chunker, LongParagraphsSplitAtSentences) {
  Doc d;
  d.para(sentences(10, 10));  // 10 sentences of 10 tokens
  const ChunkOptions opt = opts(35, 0);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 4u);
  for (const TextChunk& c : chunks) {
    EXPECT_EQ(d.text[c.end - 1], '.');
    EXPECT_EQ(c.n_tokens, &c == &chunks.back() ? 10 : 30);
  }
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, ASentenceOverTheBudgetSplitsAtTokenBoundaries) {
  std::string s;
  for (int i = 0; i < 100; ++i) s.append("word").append(std::to_string(i)).append(" ");
  s += "end.";
  Doc d;
  d.para(s);
  const ChunkOptions opt = opts(16, 0);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 7u);  // 102 tokens
  for (const TextChunk& c : chunks) {
    EXPECT_TRUE(c.start == 0 || d.text[c.start - 1] == ' ');  // never inside a word
    EXPECT_TRUE(c.end == d.text.size() || d.text[c.end] == ' ');
  }
  EXPECT_EQ(slice(d.text, chunks[0]),
            "word0 word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 "
            "word12 word13 word14 word15");
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, ChineseSentencesEndAtIdeographicFullStop) {
  std::string para;
  for (int i = 0; i < 6; ++i) para += "这是第" + std::to_string(i) + "个句子的内容。";  // 11 tokens each
  Doc d;
  d.para(para);
  const ChunkOptions opt = opts(25, 0);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_EQ(chunks.size(), 3u);
  for (const TextChunk& c : chunks) {
    EXPECT_EQ(d.text.substr(c.end - 3, 3), "。");
    EXPECT_EQ(c.n_tokens, 22);
  }
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, OverlapRepeatsTheLastWholeSentences) {
  Doc d;
  d.heading(1, "Title").para(sentences(12, 5));  // 12 sentences of 5 tokens
  const ChunkOptions opt = opts(20, 10);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_GE(chunks.size(), 3u);
  for (size_t k = 1; k < chunks.size(); ++k) {
    const TextChunk& prev = chunks[k - 1];
    const TextChunk& c = chunks[k];
    ASSERT_LT(c.start, prev.end) << k;  // overlaps
    const std::string repeated(d.text.substr(c.start, prev.end - c.start));
    EXPECT_EQ(word_tokens(repeated).size(), 10u) << repeated;  // two whole sentences
    EXPECT_EQ(repeated.back(), '.');
    EXPECT_TRUE(d.text[c.start - 1] == ' ');  // starts a sentence
    EXPECT_EQ(c.section, "Title");
  }
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, OverlapFallsBackToATokenTailAndNeverCrossesASection) {
  std::string s;
  for (int i = 0; i < 60; ++i) s.append("w").append(std::to_string(i)).append(" ");
  Doc d;
  d.para(s + "end.").heading(1, "Next").para("after the heading.");
  const ChunkOptions opt = opts(25, 5);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(word_tokens(d.text.substr(chunks[1].start, chunks[0].end - chunks[1].start)).size(), 5u);
  EXPECT_EQ(slice(d.text, chunks.back()), "Next\n\nafter the heading.");
  EXPECT_GE(chunks.back().start, chunks[chunks.size() - 2].end);
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, PageRanges) {
  Doc d;
  d.para("one two.", 1).para("three four.", 2).para("five six.", 2).para(sentences(4, 6), 3).para("x y.", 4);
  const ChunkOptions opt = opts(12, 3);
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].page_first, 1);
  EXPECT_EQ(chunks[0].page_last, 2);
  EXPECT_EQ(chunks.back().page_last, 4);
  for (const TextChunk& c : chunks) {
    // every chunk's pages are those of the blocks it touches
    int lo = 100, hi = 0;
    for (const Block& b : d.blocks) {
      if (b.start < c.end && c.start < b.end) lo = std::min(lo, b.page), hi = std::max(hi, b.page);
    }
    EXPECT_EQ(c.page_first, lo) << slice(d.text, c);
    EXPECT_EQ(c.page_last, hi) << slice(d.text, c);
  }
  check_invariants(d.text, chunks, word_tokens, opt, d.blocks);
}

TEST(Chunker, CodePointOffsetsWithCjkAndEmoji) {
  Doc d;
  d.heading(1, "表😀").para("合同条款😀很重要。第二句话。Third one 😀.").para("最后😀。");
  const ChunkOptions opt = opts(8, 0);
  for (const TokenizeFn& tok : {TokenizeFn(word_tokens), TokenizeFn(byte_pair_tokens)}) {
    const auto chunks = chunk_document(d.text, d.blocks, tok, opt);
    ASSERT_GE(chunks.size(), 3u);
    EXPECT_EQ(chunks[0].start_cp, 0);
    check_invariants(d.text, chunks, tok, opt, d.blocks);
  }
  const auto one = chunk_document("a😀b", {}, word_tokens, opts(8, 0));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].end, 6u);
  EXPECT_EQ(one[0].end_cp, 3);
}

TEST(Chunker, ByteLevelTokensNeverSplitACharacter) {
  std::string cjk;
  for (int i = 0; i < 200; ++i) cjk += "合同条款";  // no sentence end: cut at token boundaries only
  Doc d;
  d.para(cjk);
  const ChunkOptions opt = opts(9, 2);
  const auto chunks = chunk_document(d.text, d.blocks, byte_pair_tokens, opt);
  ASSERT_GT(chunks.size(), 50u);
  check_invariants(d.text, chunks, byte_pair_tokens, opt, d.blocks);
}

TEST(Chunker, TextOutsideBlocksAndNoBlocksAtAll) {
  const std::string text = "  Loose text before.\n\nA block.\n\nLoose after.  ";
  const std::vector<Block> blocks{block(Block::Kind::kParagraph, 22, 30, 5)};
  const auto chunks = chunk_document(text, blocks, word_tokens, opts(4, 0));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(slice(text, chunks[0]), "Loose text before.");
  EXPECT_EQ(slice(text, chunks[1]), "A block.");
  EXPECT_EQ(slice(text, chunks[2]), "Loose after.");
  EXPECT_EQ(chunks[2].page_first, 5);
  const auto whole = chunk_document(text, {}, word_tokens, opts(100, 0));
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(slice(text, whole[0]), "Loose text before.\n\nA block.\n\nLoose after.");
  EXPECT_TRUE(chunk_document("", {}, word_tokens).empty());
  EXPECT_TRUE(chunk_document(" \n\n ", {}, word_tokens).empty());
}

TEST(Chunker, CodeBlocksSplitAtLinesNotPeriods) {
  Doc d;
  d.add(Block::Kind::kCode, "a. b. c. d. e.\nf. g. h. i. j.\nk.");
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opts(12, 0));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(slice(d.text, chunks[0]), "a. b. c. d. e.");
  EXPECT_EQ(slice(d.text, chunks[1]), "f. g. h. i. j.\nk.");
}

TEST(Chunker, RejectsBadOptions) {
  EXPECT_THROW(chunk_document("x", {}, word_tokens, opts(3, 0)), Error);
  EXPECT_THROW(chunk_document("x", {}, word_tokens, opts(10, 10)), Error);
  EXPECT_THROW(chunk_document("x", {}, word_tokens, opts(10, -1)), Error);
}

TEST(Chunker, TokenizerDisagreeingWithItselfStillKeepsTheBudget) {
  // Counts one extra token per newline pair, which block-wise tokenization never sees: chunk checks must catch it.
  auto tok = [](std::string_view t) {
    TokenSpans s = word_tokens(t);
    for (size_t p = t.find("\n\n"); p != std::string_view::npos; p = t.find("\n\n", p + 2)) s.emplace_back(p, p + 2);
    std::sort(s.begin(), s.end());
    return s;
  };
  Doc d;
  for (int i = 0; i < 40; ++i) d.para("a b " + std::to_string(i));
  const ChunkOptions opt = opts(10, 3);
  const auto chunks = chunk_document(d.text, d.blocks, tok, opt);
  check_invariants(d.text, chunks, tok, opt, d.blocks);
}

TEST(Chunker, ASentenceLongerOnItsOwnThanInItsBlockIsCutAgain) {
  std::string s;
  for (int i = 0; i < 30; ++i) s.append("w").append(std::to_string(i)).append(" ");
  Doc d;
  d.para("Short one. " + s + "end. Tail here.");
  const ChunkOptions opt = opts(16, 4);
  const auto chunks = chunk_document(d.text, d.blocks, bos_word_tokens, opt);
  ASSERT_GE(chunks.size(), 3u);
  check_invariants(d.text, chunks, bos_word_tokens, opt, d.blocks);
}

TEST(Chunker, HugeSentencesLongTitlesAndUnicodeSpaces) {
  std::string huge;  // 300 KB without a sentence end: the tokenizer sees it in slices of at most 64 KiB
  while (huge.size() < 300000) huge += "合同 word\u00a0";
  std::string title(300, 'T');
  Doc d;
  d.heading(1, title).para(huge + "\u3000").para("\u3000 indented\u00a0");
  const ChunkOptions opt = opts(512, 64);
  size_t max_call_bytes = 0;
  const TokenizeFn tok = [&](std::string_view t) {
    max_call_bytes = std::max(max_call_bytes, t.size());
    return word_tokens(t);
  };
  const auto chunks = chunk_document(d.text, d.blocks, tok, opt);
  EXPECT_LE(max_call_bytes, 64u * 1024);
  ASSERT_GT(chunks.size(), 100u);
  EXPECT_EQ(chunks[0].section, std::string(200, 'T'));    // titles are capped
  const std::string last = slice(d.text, chunks.back());  // the small last block merged, spaces trimmed
  EXPECT_TRUE(last.ends_with("word\u00a0\u3000\n\n\u3000 indented")) << last;
  check_invariants(d.text, chunks, tok, opt, d.blocks);
}

// ---- random documents ----

std::string random_sentence(std::mt19937& rng) {
  static const char* pieces[] = {"alpha",    "beta", "Gamma", "42", "合同", "条款",   "😀",
                                 "カタカナ", "é",    "x",     ",",  "(",    "-",      "",
                                 "長い",     "🇯🇵",   "ß",     "\t", "a.b",  "\u00a0", "\u3000"};
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 30)(rng);
  for (int i = 0; i < n; ++i) {
    s += pieces[rng() % std::size(pieces)];
    if (rng() % 3) s += ' ';
  }
  static const char* ends[] = {".", "!", "?", "。", "！", "；", "\n", "", ". "};
  s += ends[rng() % std::size(ends)];
  return s;
}

TEST(Chunker, RandomDocumentsKeepTheInvariants) {
  std::mt19937 rng(1234);
  for (int doc = 0; doc < 300; ++doc) {
    Doc d;
    int page = 1;
    const int n_blocks = std::uniform_int_distribution<int>(0, 25)(rng);
    for (int b = 0; b < n_blocks; ++b) {
      page += rng() % 4 == 0;
      const int kind = rng() % 6;
      if (kind == 0) {
        d.heading(1 + rng() % 4, random_sentence(rng), page);
        continue;
      }
      std::string text;
      const int n = std::uniform_int_distribution<int>(1, 12)(rng);
      for (int s = 0; s < n; ++s) text += random_sentence(rng) + (rng() % 2 ? " " : "");
      d.add(kind == 1 ? Block::Kind::kCode : kind == 2 ? Block::Kind::kListItem : Block::Kind::kParagraph, text, page);
      if (rng() % 5 == 0) d.text += " stray text between blocks. ";
    }
    ChunkOptions opt;
    opt.chunk_tokens = std::uniform_int_distribution<int>(kMinChunkTokens, 80)(rng);
    opt.overlap_tokens = std::uniform_int_distribution<int>(0, opt.chunk_tokens - 1)(rng);
    opt.section_break_level = 1 + rng() % 6;
    const TokenizeFn tokenizers[] = {word_tokens, byte_pair_tokens, bos_word_tokens};
    const TokenizeFn& tok = tokenizers[doc % 3];
    SCOPED_TRACE("document " + std::to_string(doc) + " budget " + std::to_string(opt.chunk_tokens) + " overlap " +
                 std::to_string(opt.overlap_tokens));
    const auto chunks = chunk_document(d.text, d.blocks, tok, opt);
    check_invariants(d.text, chunks, tok, opt, d.blocks);
    if (testing::Test::HasFailure()) {
      for (const TextChunk& c : chunks) std::printf("chunk [%zu, %zu) %d tokens\n", c.start, c.end, c.n_tokens);
      return;
    }
    const auto again = chunk_document(d.text, d.blocks, tok, opt);  // deterministic
    ASSERT_EQ(again.size(), chunks.size());
    for (size_t k = 0; k < chunks.size(); ++k) {
      EXPECT_EQ(again[k].start, chunks[k].start);
      EXPECT_EQ(again[k].end, chunks[k].end);
    }
  }
}

// ---- size ----

TEST(Chunker, TenMegabytesChunkInAFewSeconds) {
  std::mt19937 rng(7);
  Doc d;
  d.heading(1, "Big");
  int page = 1;
  while (d.text.size() < 10u << 20) {
    std::string para;
    for (int s = 0; s < 8; ++s) para += random_sentence(rng) + " ";
    d.para(para, page);
    if (d.blocks.size() % 50 == 0) {
      ++page;
      d.heading(2, "Part " + std::to_string(page), page);
    }
  }
  const ChunkOptions opt;  // 512 / 64
  auto t0 = std::chrono::steady_clock::now();
  const auto chunks = chunk_document(d.text, d.blocks, word_tokens, opt);
  const double blocks_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The same text with no structure: one 10 MB paragraph.
  t0 = std::chrono::steady_clock::now();
  const auto flat = chunk_document(d.text, {}, word_tokens, opt);
  const double flat_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("10 MB: %zu chunks in %.2f s with blocks, %zu in %.2f s as one block\n", chunks.size(), blocks_s,
              flat.size(), flat_s);
  EXPECT_LT(blocks_s, 5.0);
  EXPECT_LT(flat_s, 5.0);
  for (const TextChunk& c : chunks) ASSERT_LE(c.n_tokens, opt.chunk_tokens);
  for (const TextChunk& c : flat) ASSERT_LE(c.n_tokens, opt.chunk_tokens);
}

}  // namespace
}  // namespace qembed::kb
