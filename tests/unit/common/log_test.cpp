// The logger's JSON lines must stay valid JSON whatever text they quote (request paths, file names).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/log.hpp"

namespace qembed {
namespace {

class JsonLog : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_format_ = log::format();
    saved_level_ = log::level();
    log::set_format(log::Format::kJson);
    log::set_level(log::Level::kDebug);
  }
  void TearDown() override {
    log::set_format(saved_format_);
    log::set_level(saved_level_);
  }
  log::Format saved_format_{};
  log::Level saved_level_{};
};

TEST_F(JsonLog, InvalidUtf8AndControlCharactersStillGiveOneValidJsonLine) {
  ::testing::internal::CaptureStderr();
  log::warn("bad path \"/a\xff\xfe\"\n", {log::field("path", std::string("/v1/\xc3\x28x\t")), log::field("n", int64_t{7})});
  const std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "exactly one line";
  const nlohmann::json j = nlohmann::json::parse(out);  // throws (fails the test) on invalid JSON
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("msg"), "bad path \"/a\xef\xbf\xbd\xef\xbf\xbd\"\n");
  EXPECT_EQ(j.at("path"), "/v1/\xef\xbf\xbd(x\t");
  EXPECT_EQ(j.at("n"), 7);
}

TEST_F(JsonLog, LinesBelowTheLevelAreDropped) {
  log::set_level(log::Level::kError);
  ::testing::internal::CaptureStderr();
  log::info("not shown");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace qembed
