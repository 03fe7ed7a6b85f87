// PostgreSQL-only store behaviour: replicas sharing one database (one's commits visible to the other, change
// notifications), migrations run once whichever replica starts first, a newer schema refused, passwords kept out of
// messages. The Store contract itself is tested for PostgreSQL by store_documents_test.cpp (store_factories()).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "kb/store/pg_conn.hpp"
#include "kb/store/pg_store.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using testing::add_document;
using testing::PgTestServer;
using testing::test_settings;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = PgTestServer::instance().unavailable(); !why.empty()) GTEST_SKIP() << why;
    url_ = PgTestServer::instance().database_url(testing::pg_test_database(dir_.path(), "kb"));
  }
  testing::TempDir dir_;
  std::string url_;
};

TEST_F(PgStoreTest, AReplicaSeesAnotherReplicasCommitWithinTwoSeconds) {
  auto a = PgStore::open(url_);
  auto b = PgStore::open(url_);
  const Collection coll = a->create_collection(test_settings("docs"));
  ASSERT_TRUE(b->find_collection("docs"));
  const int64_t seq_b = b->change_seq(coll.id);
  b->wait_for_change(0);  // starts listening
  const auto start = std::chrono::steady_clock::now();
  std::thread writer([&] { add_document(*a, coll, "a.txt", "alpha beta gamma"); });
  bool notified = false;
  while (!notified && std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    notified = b->wait_for_change(100) && b->change_seq(coll.id) > seq_b;
  }
  writer.join();
  EXPECT_TRUE(notified);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  const auto changes = b->changes_since(coll.id, seq_b, 10);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].added);
  EXPECT_EQ(b->keyword_search(coll.id, "beta", 10, {}).size(), 1u);
  size_t n = 0;
  b->scan_vector_range(coll.id, changes[0].first_chunk_id, changes[0].last_chunk_id, [&](const StoredVector&) { ++n; });
  EXPECT_EQ(n, 3u);
}

TEST_F(PgStoreTest, ReplicasStartingTogetherMigrateOnce) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(6);
  for (size_t i = 0; i < errors.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        auto s = PgStore::open(url_);
        if (s->schema_version() != PgStore::kSchemaVersion) errors[i] = "wrong version";
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  auto s = PgStore::open(url_);
  EXPECT_TRUE(s->check_integrity().empty());
}

TEST_F(PgStoreTest, ConcurrentWritersFromTwoReplicasKeepTheStoreConsistent) {
  auto a = PgStore::open(url_);
  auto b = PgStore::open(url_);
  const Collection coll = a->create_collection(test_settings("docs"));
  std::thread ta([&] {
    for (int i = 0; i < 10; ++i) add_document(*a, coll, "a" + std::to_string(i), "apple words " + std::to_string(i));
  });
  std::thread tb([&] {
    for (int i = 0; i < 10; ++i) add_document(*b, coll, "b" + std::to_string(i), "banana words " + std::to_string(i));
  });
  ta.join();
  tb.join();
  EXPECT_EQ(a->document_counts(coll.id).indexed, 20);
  EXPECT_TRUE(a->check_integrity().empty()) << ::testing::PrintToString(a->check_integrity());
  // The change log lists every content once, in commit order, with contiguous chunk ranges.
  const auto changes = b->changes_since(coll.id, 0, 100);
  ASSERT_EQ(changes.size(), 20u);
  for (const auto& c : changes) EXPECT_EQ(c.last_chunk_id - c.first_chunk_id, 2);
  EXPECT_EQ(b->keyword_search(coll.id, "words", 100, {}).size(), 20u);
}

TEST_F(PgStoreTest, ANewerSchemaIsAClearError) {
  PgStore::open(url_);
  {
    PgConn conn(url_);
    conn.exec("UPDATE qembed_schema SET version = 99");
  }
  try {
    PgStore::open(url_);
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("newer than this qembed understands"), std::string::npos) << e.what();
  }
}

TEST_F(PgStoreTest, ADatabaseWithOtherTablesIsRefused) {
  {
    PgConn conn(url_);
    conn.exec("CREATE TABLE customers (id int)");
  }
  try {
    PgStore::open(url_);
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(PgUrl, PasswordsNeverAppearInMessages) {
  EXPECT_EQ(redact_pg_url("postgresql://alice:s3cret@db.example/kb"), "postgresql://alice@db.example/kb");
  EXPECT_EQ(redact_pg_url("postgres://db/kb?user=bob&password=s3cret&sslmode=require"),
            "postgres://db/kb?user=bob&sslmode=require");
  EXPECT_EQ(redact_pg_url("/var/lib/kb.db"), "/var/lib/kb.db");
  EXPECT_TRUE(is_pg_url("postgresql://x/y"));
  EXPECT_FALSE(is_pg_url("kb.db"));
  try {
    PgStore::open("postgresql://alice:s3cret@127.0.0.1:1/kb?connect_timeout=2");
    FAIL() << "connected";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qembed::kb
