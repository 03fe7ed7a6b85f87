// Route paths with {name} segments and the query string: segments are matched one each and percent-decoded (a
// collection may be named anything), empty or NUL segments never match, and query parameters decode as forms do.
#include <gtest/gtest.h>

#include "server/api/routes.hpp"
#include "server/api/url.hpp"

namespace qembed::server::api {
namespace {

TEST(RoutePaths, PatternSegmentsMatchOneSegmentEach) {
  std::vector<std::string> p;
  EXPECT_TRUE(match_path_pattern("/v1/kb/collections/{name}", "/v1/kb/collections/docs", &p));
  EXPECT_EQ(p, std::vector<std::string>{"docs"});
  EXPECT_TRUE(match_path_pattern("/v1/kb/collections/{name}/documents/{id}", "/v1/kb/collections/a/documents/12", &p));
  EXPECT_EQ(p, (std::vector<std::string>{"a", "12"}));
  EXPECT_FALSE(match_path_pattern("/v1/kb/collections/{name}", "/v1/kb/collections/docs/documents"));
  EXPECT_FALSE(match_path_pattern("/v1/kb/collections/{name}/documents", "/v1/kb/collections/docs"));
  EXPECT_FALSE(match_path_pattern("/v1/kb/collections/{name}", "/v1/kb/collections/"));
  EXPECT_FALSE(match_path_pattern("/v1/kb/collections/{name}/search", "/v1/kb/collections//search"));
  EXPECT_FALSE(match_path_pattern("/v1/kb/jobs/{id}", "/v1/kb/other/1"));
}

TEST(RoutePaths, SegmentsArePercentDecoded) {
  std::vector<std::string> p;
  EXPECT_TRUE(match_path_pattern("/c/{name}/x", "/c/my%20docs%2Fv2/x", &p));
  EXPECT_EQ(p, std::vector<std::string>{"my docs/v2"});
  EXPECT_TRUE(match_path_pattern("/c/{name}", "/c/%E6%96%87%E6%A1%A3", &p));
  EXPECT_EQ(p[0], "\xE6\x96\x87\xE6\xA1\xA3");
  EXPECT_TRUE(match_path_pattern("/c/{name}", "/c/100%", &p));  // a malformed escape stays as it is
  EXPECT_EQ(p[0], "100%");
  EXPECT_FALSE(match_path_pattern("/c/{name}", "/c/a%00b"));
}

TEST(RoutePaths, TableFindsPatternRoutesAndTellsOtherVerbs) {
  RouteTable t;
  t.add({boost::beast::http::verb::get, "/v1/kb/collections/{name}", false, kReadRoles, "g", Dialect::kOpenAI, true,
         true, nullptr});
  t.add({boost::beast::http::verb::delete_, "/v1/kb/collections/{name}", false, kKbWriteRoles, "d", Dialect::kOpenAI,
         true, true, nullptr});
  EXPECT_EQ(t.find(boost::beast::http::verb::delete_, "/v1/kb/collections/x").route->label, "d");
  const RouteTable::Match m = t.find(boost::beast::http::verb::put, "/v1/kb/collections/x");
  EXPECT_EQ(m.route, nullptr);
  ASSERT_NE(m.other_verb, nullptr);                                                                // 405
  EXPECT_EQ(t.find(boost::beast::http::verb::get, "/v1/kb/collections/x/y").other_verb, nullptr);  // 404
}

TEST(QueryString, ParamsDecodeLikeForms) {
  const auto q = query_params("/p?status=indexed&after=12&name=a+b%26c&flag&empty=&&limit=5&limit=6");
  EXPECT_EQ(query_param(q, "status").value_or("?"), "indexed");
  EXPECT_EQ(query_param(q, "after").value_or("?"), "12");
  EXPECT_EQ(query_param(q, "name").value_or("?"), "a b&c");
  EXPECT_EQ(query_param(q, "flag").value_or("?"), "");
  EXPECT_EQ(query_param(q, "empty").value_or("?"), "");
  EXPECT_EQ(query_param(q, "limit").value_or("?"), "6");  // the last one wins
  EXPECT_FALSE(query_param(q, "absent"));
  EXPECT_TRUE(query_params("/p").empty());
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace qembed::server::api
