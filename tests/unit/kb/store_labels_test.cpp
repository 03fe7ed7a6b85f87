// Relevance labels in every store (store_factories(): SQLite, PostgreSQL): saved, replaced by a later judgement of
// the same query and document, listed oldest first per collection, refused when malformed, and gone with their
// collection.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using testing::TempDir;
using testing::test_settings;

RelevanceLabel label(int64_t collection_id, const std::string& query, const std::string& document, int32_t grade,
                     int64_t created_ms) {
  return {collection_id, query, document, 3, 9, grade, created_ms};
}

class StoreLabels : public ::testing::TestWithParam<testing::StoreFactory> {
 protected:
  void SetUp() override {
    if (const std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
    store = GetParam().open(dir, "kb");
  }
  TempDir dir;
  std::unique_ptr<Store> store;
};

TEST_P(StoreLabels, SavedReplacedListedAndDeletedWithTheCollection) {
  const Collection a = store->create_collection(test_settings("a"));
  const Collection b = store->create_collection(test_settings("b"));
  store->save_label(label(a.id, "refund", "refunds.md", 1, 100));
  store->save_label(label(a.id, "refund", "shipping.md", 1, 200));
  store->save_label(label(b.id, "refund", "other.md", 0, 300));
  store->save_label(label(a.id, "refund", "shipping.md", 0, 400));  // a change of mind

  const std::vector<RelevanceLabel> in_a = store->list_labels(a.id);
  ASSERT_EQ(in_a.size(), 2u);
  EXPECT_EQ(in_a[0].document_name, "refunds.md");
  EXPECT_EQ(in_a[0].grade, 1);
  EXPECT_EQ(in_a[0].passage_start, 3);
  EXPECT_EQ(in_a[0].passage_end, 9);
  EXPECT_EQ(in_a[1].document_name, "shipping.md");
  EXPECT_EQ(in_a[1].grade, 0);
  EXPECT_EQ(in_a[1].created_ms, 400);
  ASSERT_EQ(store->list_labels(b.id).size(), 1u);

  store->delete_collection(a.id);
  EXPECT_TRUE(store->list_labels(a.id).empty());
  EXPECT_EQ(store->list_labels(b.id).size(), 1u);
}

TEST_P(StoreLabels, MalformedLabelsAreRefused) {
  const Collection c = store->create_collection(test_settings("c"));
  EXPECT_THROW(store->save_label(label(c.id, "", "a.md", 1, 1)), Error);
  EXPECT_THROW(store->save_label(label(c.id, "q", "", 1, 1)), Error);
  EXPECT_THROW(store->save_label(label(c.id, "q", "a.md", 4, 1)), Error);
  EXPECT_THROW(store->save_label(label(c.id + 100, "q", "a.md", 1, 1)), Error);
  EXPECT_TRUE(store->list_labels(c.id).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreLabels, ::testing::ValuesIn(testing::store_factories()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qembed::kb
