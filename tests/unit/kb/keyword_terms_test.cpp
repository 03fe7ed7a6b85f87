#include "kb/text/keyword_terms.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace qembed::kb {
namespace {

using Terms = std::vector<std::string>;

bool contains(const Terms& terms, const std::string& t) {
  return std::find(terms.begin(), terms.end(), t) != terms.end();
}

TEST(KeywordTerms, EnglishWordsAreFoldedAndPunctuationDropped) {
  EXPECT_EQ(keyword_terms("Hello, World! It's 2024 -- e-mail me."),
            (Terms{"hello", "world", "its", "2024", "e", "mail", "me"}));
  EXPECT_EQ(keyword_terms("don’t   stop"), (Terms{"dont", "stop"}));
  EXPECT_TRUE(keyword_terms(" ... !!! --- 🙂 ").empty());
  EXPECT_TRUE(keyword_terms("").empty());
}

TEST(KeywordTerms, WidthCaseAndDiacriticsFold) {
  EXPECT_EQ(keyword_terms("ＡＢＣ ＤｅＦ１２"), (Terms{"abc", "def12"}));
  EXPECT_EQ(keyword_terms("Café NAÏVE Straße ﬁne"), (Terms{"cafe", "naive", "strasse", "fine"}));
  EXPECT_EQ(keyword_terms("Привет мир й"), (Terms{"привет", "мир", "й"}));  // Cyrillic keeps its letters
}

TEST(KeywordTerms, ChineseRunsBecomeOverlappingBigrams) {
  // Documents index every character and every bigram; a query of two or more characters asks for bigrams.
  EXPECT_EQ(keyword_terms("合同条款", TermSide::kDocument), (Terms{"合", "合同", "同", "同条", "条", "条款", "款"}));
  EXPECT_EQ(keyword_terms("合同条款", TermSide::kQuery), (Terms{"合同", "同条", "条款"}));
  EXPECT_EQ(keyword_terms("合同", TermSide::kQuery), (Terms{"合同"}));
  EXPECT_EQ(keyword_terms("猫", TermSide::kQuery), (Terms{"猫"}));
  // Punctuation ends a run: no bigram across 。
  EXPECT_EQ(keyword_terms("合同。条款", TermSide::kQuery), (Terms{"合同", "条款"}));
  // The query's terms are among the document's: 合同 matches 合同条款.
  const Terms doc = keyword_terms("本合同条款自签订之日起生效");
  for (const auto& t : keyword_terms("合同", TermSide::kQuery)) EXPECT_TRUE(contains(doc, t)) << t;
}

TEST(KeywordTerms, JapaneseKanaAndKanji) {
  EXPECT_EQ(keyword_terms("カタカナ", TermSide::kQuery), (Terms{"カタ", "タカ", "カナ"}));
  EXPECT_EQ(keyword_terms("ｶﾀｶﾅ", TermSide::kQuery), (Terms{"カタ", "タカ", "カナ"}));  // half-width folds
  EXPECT_EQ(keyword_terms("ひらがな", TermSide::kQuery), (Terms{"ひら", "らが", "がな"}));
  EXPECT_EQ(keyword_terms("コーヒー", TermSide::kQuery), (Terms{"コー", "ーヒ", "ヒー"}));
  const Terms doc = keyword_terms("私はコーヒーが好きです。");
  for (const auto& t : keyword_terms("コーヒー 好き", TermSide::kQuery)) EXPECT_TRUE(contains(doc, t)) << t;
}

TEST(KeywordTerms, KoreanAndThai) {
  EXPECT_EQ(keyword_terms("한국어", TermSide::kQuery), (Terms{"한국", "국어"}));
  // Thai has no spaces: ICU's dictionary breaker finds the words.
  const Terms thai = keyword_terms("ภาษาไทยง่ายนิดเดียว");
  EXPECT_GE(thai.size(), 3u);
  EXPECT_TRUE(contains(thai, "ภาษา"));
}

TEST(KeywordTerms, MixedEnglishAndChinese) {
  EXPECT_EQ(keyword_terms("使用Qwen3模型做RAG", TermSide::kQuery), (Terms{"使用", "qwen3", "模型", "型做", "rag"}));
  EXPECT_EQ(keyword_terms("2024年合同", TermSide::kQuery), (Terms{"2024", "年合", "合同"}));
}

TEST(KeywordTerms, SpansPointIntoTheOriginalText) {
  const std::string text = "Ｈｅｌｌｏ 合同条款 CAFÉ";
  for (const KeywordTerm& t : keyword_term_spans(text)) {
    ASSERT_LE(t.start, t.end);
    ASSERT_LE(t.end, text.size());
  }
  const auto spans = keyword_term_spans(text, TermSide::kQuery);
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(text.substr(spans[0].start, spans[0].end - spans[0].start), "Ｈｅｌｌｏ");
  EXPECT_EQ(spans[0].term, "hello");
  EXPECT_EQ(text.substr(spans[1].start, spans[1].end - spans[1].start), "合同");
  EXPECT_EQ(text.substr(spans[2].start, spans[2].end - spans[2].start), "同条");
  EXPECT_EQ(text.substr(spans[4].start, spans[4].end - spans[4].start), "CAFÉ");
  EXPECT_EQ(spans[4].term, "cafe");
  // A compatibility character that expands (㍿ -> 株式会社) maps every term inside it back to the one character.
  const std::string sq = "x㍿y";
  for (const KeywordTerm& t : keyword_term_spans(sq)) {
    if (t.term == "x" || t.term == "y") continue;
    EXPECT_EQ(sq.substr(t.start, t.end - t.start), "㍿") << t.term;
  }
}

TEST(KeywordTerms, InvalidUtf8IsASeparator) {
  const std::string text =
      "abc\xff\xfe"
      "def \xe5\x90";  // a truncated 合 at the end
  EXPECT_EQ(keyword_terms(text), (Terms{"abc", "def"}));
}

TEST(KeywordTerms, LongBlobsAreDropped) {
  EXPECT_TRUE(keyword_terms(std::string(kMaxTermBytes + 1, 'a')).empty());
  EXPECT_EQ(keyword_terms(std::string(kMaxTermBytes, 'a')).size(), 1u);
}

TEST(KeywordTerms, IndexTextIsSpaceSeparatedTerms) {
  EXPECT_EQ(keyword_index_text("The \"quick\" fox: NEAR(x)"), "the quick fox near x");
  EXPECT_EQ(keyword_index_text("合同"), "合 合同 同");
  EXPECT_EQ(keyword_index_text("?!"), "");
}

TEST(KeywordTerms, MatchQueryQuotesEveryTermAndOrsThem) {
  EXPECT_EQ(keyword_match_query("合同 fox"), "\"合同\" OR \"fox\"");
  EXPECT_EQ(keyword_match_query("fox AND dog OR NOT cat"),
            "\"fox\" OR \"and\" OR \"dog\" OR \"or\" OR \"not\" OR \"cat\"");
  EXPECT_EQ(keyword_match_query("fox fox FOX"), "\"fox\"");
  EXPECT_EQ(keyword_match_query("\" * ^ : ( ) -"), "");
  EXPECT_EQ(keyword_match_query("a b c d", 2), "\"a\" OR \"b\"");
  const std::string hostile[] = {"\"", "fox*", "NEAR(a b, 3)", "body:fox", "{body}: x", "a\" OR \"b", "-x", "^fox"};
  for (const std::string& q : hostile) {
    const std::string m = keyword_match_query(q);
    // Between the quotes only letters and digits: no operator can appear.
    EXPECT_EQ(m.find('*'), std::string::npos) << q;
    EXPECT_EQ(m.find(':'), std::string::npos) << q;
    EXPECT_EQ(m.find('('), std::string::npos) << q;
    EXPECT_EQ(m.find('^'), std::string::npos) << q;
  }
}

TEST(KeywordTerms, HighlightsMapBackToTheOriginalText) {
  const std::string text = "本合同条款自签订之日起生效。The CONTRACT terms apply.";
  const auto ranges = keyword_highlights(text, "合同条款 contract");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(text.substr(ranges[0].first, ranges[0].second - ranges[0].first), "合同条款");  // bigrams merged
  EXPECT_EQ(text.substr(ranges[1].first, ranges[1].second - ranges[1].first), "CONTRACT");
  const std::string wide = "ａｂｃ ｘ";
  const auto w = keyword_highlights(wide, "ABC");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(wide.substr(w[0].first, w[0].second - w[0].first), "ａｂｃ");
  EXPECT_TRUE(keyword_highlights(text, "*** ").empty());
  EXPECT_TRUE(keyword_highlights(text, "zebra").empty());
}

// ---- against a real SQLite FTS5 table (the plain unicode61 tokenizer over our terms) ----

class Fts5Table {
 public:
  Fts5Table() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    exec("CREATE VIRTUAL TABLE chunks USING fts5(terms, tokenize='unicode61')");
  }
  ~Fts5Table() { sqlite3_close(db_); }

  void exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }

  void add(int64_t rowid, const std::string& text) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO chunks(rowid, terms) VALUES(?, ?)", -1, &st, nullptr), SQLITE_OK);
    const std::string terms = keyword_index_text(text);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text(st, 2, terms.c_str(), static_cast<int>(terms.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }

  //! Row ids best first (bm25), or {-1} when SQLite reports an error.
  std::vector<int64_t> search(const std::string& query) {
    const std::string match = keyword_match_query(query);
    if (match.empty()) return {};
    sqlite3_stmt* st = nullptr;
    const char* sql = "SELECT rowid FROM chunks WHERE chunks MATCH ? ORDER BY bm25(chunks), rowid";
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr), SQLITE_OK);
    sqlite3_bind_text(st, 1, match.c_str(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
    std::vector<int64_t> rows;
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows.push_back(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return {-1};
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(KeywordTermsFts5, ChineseWordFindsLongerRunsAndRanksFullMatchesFirst) {
  Fts5Table t;
  t.add(1, "本合同条款自签订之日起生效。");
  t.add(2, "劳动合同法规定了双方的权利。");
  t.add(3, "今天天气很好，我们去公园散步。");
  t.add(4, "The contract terms apply to both parties.");
  t.add(5, "合同");
  t.add(6, "私はコーヒーが好きです。");
  EXPECT_EQ(t.search("合同"), (std::vector<int64_t>{5, 1, 2}));  // the short row is the best BM25 match
  const auto rows = t.search("合同条款");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], 1);  // every bigram matches
  EXPECT_EQ(t.search("天气"), (std::vector<int64_t>{3}));
  EXPECT_EQ(t.search("CONTRACT"), (std::vector<int64_t>{4}));
  EXPECT_EQ(t.search("ｺｰﾋｰ"), (std::vector<int64_t>{6}));
  EXPECT_EQ(t.search("私"), (std::vector<int64_t>{6}));  // one character: the documents' unigrams
  EXPECT_EQ(t.search("好").size(), 2u);                  // 好き and 很好
  EXPECT_TRUE(t.search("条约").empty());
}

TEST(KeywordTermsFts5, HostileQueriesNeverError) {
  Fts5Table t;
  t.add(1, "near and or not terms body fox");
  t.add(2, "something else entirely");
  const std::string hostile[] = {"\"",         "\"\"", "fox*", "NEAR(fox body, 2)", "terms:fox",  "{terms}: fox",
                                 "a\" OR \"b", "-fox", "^fox", "fox AND",           "OR",         "NOT fox",
                                 "AND OR NOT", "(",    ")",    "fox + body",        "col:\"x\"*", "\\\"; DROP",
                                 "NEAR",       "'"};
  for (const std::string& q : hostile) {
    const auto rows = t.search(q);
    EXPECT_TRUE(rows.empty() || rows[0] != -1) << q << " -> " << keyword_match_query(q);
  }
  EXPECT_EQ(t.search("NEAR(fox"), (std::vector<int64_t>{1}));  // the words are searched as words
  EXPECT_EQ(t.search("AND"), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace qembed::kb
