// The embedding rules on their own: prompts, limits and truncation, dimensions, finishing a vector.
#include "service/embedding_rules.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "common/error.hpp"

namespace qembed::service {
namespace {

ErrorKind kind_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no Error thrown";
  return ErrorKind::kInternal;
}

//! EOS 9 appended, `max_tokens` per input.
FitRule fit_rule(int64_t max_tokens, bool truncate) {
  FitRule rule;
  rule.eos_id = 9;
  rule.append_eos = true;
  rule.max_tokens = max_tokens;
  rule.truncate = truncate;
  return rule;
}

TEST(PromptRules, QwenInstructionFormat) {
  EXPECT_EQ(format_instruction("Task", "hello"), "Instruct: Task\nQuery:hello");
  EXPECT_EQ(resolve_prompt("query", std::nullopt, "", {}),
            "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:");
  EXPECT_EQ(resolve_prompt("document", std::nullopt, "", {}), "");
  EXPECT_EQ(resolve_prompt(std::nullopt, "Retrieve semantically similar text", "", {}),
            "Instruct: Retrieve semantically similar text\nQuery:");
}

TEST(PromptRules, DefaultsAndConfiguredNames) {
  const PromptTable prompts = {{"code", "Represent code: "}, {"query", "Q: "}};
  EXPECT_EQ(resolve_prompt(std::nullopt, std::nullopt, "", prompts), "") << "no default: no prompt";
  EXPECT_EQ(resolve_prompt(std::nullopt, std::nullopt, "code", prompts), "Represent code: ");
  EXPECT_EQ(resolve_prompt("code", std::nullopt, "", prompts), "Represent code: ");
  EXPECT_EQ(resolve_prompt("query", std::nullopt, "", prompts), "Q: ") << "a configured name wins over a built-in";
  EXPECT_EQ(resolve_prompt("document", std::nullopt, "code", prompts), "") << "a named prompt wins over the default";
  EXPECT_EQ(resolve_prompt(std::nullopt, "T", "code", prompts), "Instruct: T\nQuery:");
}

TEST(PromptRules, ErrorsNameWhatIsWrong) {
  std::string msg;
  EXPECT_EQ(kind_of([] { resolve_prompt("query", "task", "", {}); }, &msg), ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("mutually exclusive"), std::string::npos) << msg;
  EXPECT_EQ(kind_of([] { resolve_prompt(std::nullopt, "", "", {}); }, &msg), ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("instruction must not be empty"), std::string::npos) << msg;
  EXPECT_EQ(kind_of(
                [] {
                  resolve_prompt("passage", std::nullopt, "", {{"code", "c"}});
                },
                &msg),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(msg, "unknown prompt name \"passage\"; valid names: query, document, code");
}

TEST(LimitRules, AppendsEosOnce) {
  FitRule rule = fit_rule(10, false);
  std::vector<int32_t> a = {1, 2, 3};
  fit_to_limit(a, rule, 0);
  EXPECT_EQ(a, (std::vector<int32_t>{1, 2, 3, 9}));
  fit_to_limit(a, rule, 0);
  EXPECT_EQ(a, (std::vector<int32_t>{1, 2, 3, 9})) << "not appended twice";
  rule.append_eos = false;
  std::vector<int32_t> b = {1, 2};
  fit_to_limit(b, rule, 0);
  EXPECT_EQ(b, (std::vector<int32_t>{1, 2}));
  std::vector<int32_t> empty;
  EXPECT_EQ(kind_of([&] { fit_to_limit(empty, rule, 4); }), ErrorKind::kInvalidInput);
}

TEST(LimitRules, OverTheLimitIsALimitErrorNamingTheInputAndTheFix) {
  FitRule rule = fit_rule(4, false);
  rule.truncate_hint = "--truncate";
  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  std::string msg;
  EXPECT_EQ(kind_of([&] { fit_to_limit(ids, rule, 7); }, &msg), ErrorKind::kLimit);
  EXPECT_EQ(msg, "input 7 has 6 tokens, the limit is 4 (use --truncate to keep the first 4)");
  rule.truncate_hint.clear();
  rule.side = TruncationSide::kLeft;
  std::vector<int32_t> again = {1, 2, 3, 4, 5};
  kind_of([&] { fit_to_limit(again, rule, 7); }, &msg);
  EXPECT_EQ(msg, "input 7 has 6 tokens, the limit is 4 (enable truncation to keep the last 4)");
}

TEST(LimitRules, RightTruncationKeepsTheFirstTokensAndEndsInEos) {
  FitRule rule = fit_rule(4, true);
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6};
  fit_to_limit(ids, rule, 0);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 3, 9}));
  rule.append_eos = false;
  std::vector<int32_t> raw = {1, 2, 3, 4, 5, 6};
  fit_to_limit(raw, rule, 0);
  EXPECT_EQ(raw, (std::vector<int32_t>{1, 2, 3, 4}));
}

TEST(LimitRules, LeftTruncationKeepsTheLastTokensWithEosLast) {
  FitRule rule = fit_rule(4, true);
  rule.side = TruncationSide::kLeft;
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6};
  fit_to_limit(ids, rule, 0);
  EXPECT_EQ(ids, (std::vector<int32_t>{4, 5, 6, 9}));
  std::vector<int32_t> within = {1, 2};
  fit_to_limit(within, rule, 0);
  EXPECT_EQ(within, (std::vector<int32_t>{1, 2, 9})) << "within the limit: untouched but for EOS";
}

TEST(LimitRules, TruncationSideWordsAreTheSameForEveryFrontEnd) {
  EXPECT_EQ(parse_truncation_side("right"), TruncationSide::kRight);
  EXPECT_EQ(parse_truncation_side("Right"), TruncationSide::kRight);  // TEI's spelling
  EXPECT_EQ(parse_truncation_side("left"), TruncationSide::kLeft);
  EXPECT_EQ(parse_truncation_side("Left"), TruncationSide::kLeft);
  EXPECT_EQ(parse_truncation_side("LEFT"), std::nullopt);
  EXPECT_EQ(parse_truncation_side(""), std::nullopt);
  EXPECT_EQ(parse_truncation_side("middle"), std::nullopt);
}

TEST(DimensionRules, RangeIs32ToWidth) {
  EXPECT_NO_THROW(check_dimensions(0, 256));
  EXPECT_NO_THROW(check_dimensions(32, 256));
  EXPECT_NO_THROW(check_dimensions(256, 256));
  std::string msg;
  EXPECT_EQ(kind_of([] { check_dimensions(16, 256); }, &msg), ErrorKind::kInvalidInput);
  EXPECT_EQ(msg, "dimensions 16 is out of range: this model supports 32 to 256");
  EXPECT_EQ(kind_of([] { check_dimensions(257, 256); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of([] { check_dimensions(-1, 256); }), ErrorKind::kInvalidInput);
  EXPECT_NO_THROW(check_dimensions(16, 16)) << "a model narrower than 32 supports its own width";
}

TEST(FinalizeRules, MatryoshkaThenL2) {
  const std::vector<float> pooled = {3, 4, 12, 0};
  const std::vector<float> all = finalize_embedding(pooled, 0, true, 0);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_NEAR(all[0], 3.0 / 13, 1e-7);
  EXPECT_NEAR(all[2], 12.0 / 13, 1e-7);
  const std::vector<float> two = finalize_embedding(pooled, 2, true, 0);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[0], 0.6, 1e-7) << "the first D components, normalized after truncation";
  EXPECT_NEAR(two[1], 0.8, 1e-7);
  EXPECT_EQ(finalize_embedding(pooled, 2, false, 0), (std::vector<float>{3, 4}));
}

TEST(FinalizeRules, NonFiniteResultsAreErrorsNamingTheInput) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::string msg;
  EXPECT_EQ(kind_of(
                [&] {
                  finalize_embedding(std::vector<float>{1, nan, 2}, 0, true, 5);
                },
                &msg),
            ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("input 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
  EXPECT_EQ(kind_of(
                [&] {
                  finalize_embedding(std::vector<float>{inf, 1}, 0, false, 2);
                },
                &msg),
            ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("infinity"), std::string::npos) << msg;
  EXPECT_NO_THROW(finalize_embedding(std::vector<float>{1, 2, nan}, 2, true, 0)) << "dropped by dimensions";
}

}  // namespace
}  // namespace qembed::service
