#pragma once
// Keyword terms: what the knowledge base puts into its full-text index (SQLite FTS5, plain `unicode61` tokenizer,
// over our own pre-analysed, space-separated terms) and how a query is analysed the same way.
//
// Analysis, the same for documents and queries (docs/kb.md, "Keyword search terms"):
//   1. NFKC + case folding (ICU NFKC_Casefold): "ＡＢＣ" -> "abc", "ｶﾀｶﾅ" -> "カタカナ", "ﬁ" -> "fi".
//   2. Runs of CJK ideographs, Hiragana, Katakana and Hangul become overlapping character bigrams ("合同条款" ->
//      合同 同条 条款), so a two-character word matches inside a longer run; a run of one character is that
//      character. Documents also index every single character of a run, so a one-character query finds it.
//   3. Other text splits into runs of letters, digits and marks (apostrophes inside a word are dropped: "can't" ->
//      "cant"); Thai, Lao, Khmer and Myanmar runs are split further into words by ICU's dictionary word breaker.
//      Diacritics on Latin letters are removed ("café" -> "cafe", as unicode61's default would). No stemming.
//   4. Punctuation, symbols and emoji are dropped; a term longer than kMaxTermBytes is dropped.
// A term is made only of letters, digits and marks, so it is one FTS5 token and can never carry FTS5 syntax.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qembed::kb {

//! Terms longer than this (bytes, after normalization) are dropped: base64 blobs and the like, not words.
inline constexpr size_t kMaxTermBytes = 128;
//! keyword_match_query keeps at most this many distinct terms by default, so a huge query stays a cheap one.
inline constexpr size_t kMaxQueryTerms = 64;

//! Which side of the index a text is analysed for. They differ only for CJK runs: documents also index every
//! single character of a run (so one-character queries match); a query of two or more characters asks for
//! bigrams only (what it means), a one-character run for that character.
enum class TermSide { kDocument, kQuery };

//! One term and the byte range [start, end) of the ORIGINAL text it came from (word granularity: the whole word,
//! or the one or two characters of a CJK term; always on code point boundaries).
struct KeywordTerm {
  std::string term;  //!< normalized term: letters, digits and marks only
  size_t start = 0;  //!< byte offset in the original text
  size_t end = 0;    //!< byte offset in the original text (exclusive)
};

//! Terms of text in order of position, with their original byte ranges. Invalid UTF-8 bytes act as separators.
std::vector<KeywordTerm> keyword_term_spans(std::string_view text, TermSide side = TermSide::kDocument);

//! Terms of text in order of position (duplicates kept: BM25 counts them).
std::vector<std::string> keyword_terms(std::string_view text, TermSide side = TermSide::kDocument);

//! The text to store in the FTS5 column for text: its document terms joined by single spaces. Empty when the text
//! has no terms.
std::string keyword_index_text(std::string_view text);

//! A safe FTS5 MATCH expression for a user's query: its distinct query terms (first max_terms of them, in order),
//! each double-quoted, joined by OR so BM25 ranks partial matches. User text cannot inject FTS5 syntax (NEAR, AND,
//! column filters, `*`, `^`, quotes): terms hold only letters, digits and marks, and are quoted anyway. Returns an
//! empty string when the query has no terms: the caller must then skip the keyword search (FTS5 rejects an empty
//! MATCH expression).
std::string keyword_match_query(std::string_view query, size_t max_terms = kMaxQueryTerms);

//! Byte ranges [start, end) of text (the ORIGINAL chunk text) whose terms match a term of query, for highlighting:
//! sorted, overlapping or touching ranges merged (合同条款 for the query 合同条款 is one range, not three bigrams).
std::vector<std::pair<size_t, size_t>> keyword_highlights(std::string_view text, std::string_view query);

}  // namespace qembed::kb
