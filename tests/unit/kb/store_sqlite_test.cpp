// SQLite-specific store behaviour: schema version and migrations, files that are not (or no longer) ours,
// two connections on one file, a busy writer, a storage failure mid-commit, and kill -9 during ingestion.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "common/error.hpp"
#include "kb/store/consistency.hpp"
#include "kb/store/sqlite_store.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using testing::add_document;
using testing::content_of;
using testing::draft;
using testing::TempDir;
using testing::test_settings;

void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::string open_error(const std::string& path, ErrorKind* kind) {
  try {
    SqliteStore::open(path);
  } catch (const Error& e) {
    *kind = e.kind();
    return e.what();
  }
  return "";
}

TEST(SqliteStore, NewFileGetsTheCurrentSchemaVersion) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("kb.db"));
  EXPECT_EQ(store->schema_version(), SqliteStore::kSchemaVersion);
  store.reset();
  auto again = SqliteStore::open(dir.file("kb.db"));  // reopening migrates nothing
  EXPECT_EQ(again->schema_version(), SqliteStore::kSchemaVersion);
}

TEST(SqliteStore, AVersion3FileMigratesAndItsCollectionsDoNotRerank) {
  TempDir dir;
  const std::string path = dir.file("kb.db");
  std::string v3;  // the schema as qembed wrote it before collections had a rerank default
  for (int v = 0; v < 3; ++v) v3 += kSqliteMigrations[v];
  raw_exec(path, v3 +
                     "INSERT INTO collections (name, model_name, model_fingerprint, model_dimensions, dimensions, "
                     "vector_type, chunk_tokens, overlap_tokens, prepend_title, query_instruction, created_ms) "
                     "VALUES ('old', 'm', 'f', 64, 64, 'f32', 512, 64, 1, '', 1); PRAGMA user_version = 3;");
  {
    auto store = SqliteStore::open(path);
    EXPECT_EQ(store->schema_version(), SqliteStore::kSchemaVersion);
    const std::optional<Collection> old = store->find_collection("old");
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->settings.rerank);
    EXPECT_EQ(old->settings.chunk_tokens, 512);
    CollectionSettings settings = test_settings("new");
    settings.rerank = true;
    EXPECT_TRUE(store->create_collection(settings).settings.rerank);
  }
  auto again = SqliteStore::open(path);
  EXPECT_TRUE(again->find_collection("new")->settings.rerank) << "stored";
  EXPECT_FALSE(again->find_collection("old")->settings.rerank);
}

TEST(SqliteStore, ANewerSchemaIsAClearError) {
  TempDir dir;
  SqliteStore::open(dir.file("kb.db"));
  raw_exec(dir.file("kb.db"), "PRAGMA user_version = 99");
  ErrorKind kind = ErrorKind::kInternal;
  const std::string message = open_error(dir.file("kb.db"), &kind);
  EXPECT_EQ(kind, ErrorKind::kIo);
  EXPECT_NE(message.find("schema version 99"), std::string::npos) << message;
  EXPECT_NE(message.find("upgrade qembed"), std::string::npos) << message;
  EXPECT_NE(message.find(dir.file("kb.db")), std::string::npos) << message;
}

TEST(SqliteStore, AGarbageFileIsAClearErrorNamingIt) {
  TempDir dir;
  {
    std::ofstream out(dir.file("garbage.db"), std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  ErrorKind kind = ErrorKind::kInternal;
  const std::string message = open_error(dir.file("garbage.db"), &kind);
  EXPECT_EQ(kind, ErrorKind::kIo);
  EXPECT_NE(message.find(dir.file("garbage.db")), std::string::npos) << message;
  EXPECT_NE(message.find("not a SQLite database"), std::string::npos) << message;
}

TEST(SqliteStore, AnotherApplicationsDatabaseIsRefused) {
  TempDir dir;
  raw_exec(dir.file("other.db"), "CREATE TABLE t(x)");
  ErrorKind kind = ErrorKind::kInternal;
  EXPECT_NE(open_error(dir.file("other.db"), &kind).find("not a qembed knowledge base"), std::string::npos);
  EXPECT_EQ(kind, ErrorKind::kIo);
}

TEST(SqliteStore, ACorruptedPageIsReportedByCheck) {
  TempDir dir;
  const std::string path = dir.file("kb.db");
  {
    auto store = SqliteStore::open(path);
    const Collection c = store->create_collection(test_settings("docs"));
    for (int i = 0; i < 30; ++i)
      add_document(*store, c, "d" + std::to_string(i), "some words number " + std::to_string(i));
  }
  raw_exec(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  {  // overwrite a page in the middle of the file
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 3);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(0x5a));
  }
  try {
    auto store = SqliteStore::open(path);
    EXPECT_FALSE(store->check_integrity().empty());
  } catch (const Error& e) {  // or it fails to open, naming the file
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(SqliteStore, TwoConnectionsOnOneFileSeeEachOthersCommits) {
  TempDir dir;
  auto writer = SqliteStore::open(dir.file("kb.db"));
  auto reader = SqliteStore::open(dir.file("kb.db"));
  const Collection c = writer->create_collection(test_settings("docs"));
  ASSERT_TRUE(reader->find_collection("docs"));
  EXPECT_EQ(reader->change_seq(c.id), 0);
  add_document(*writer, c, "a.txt", "hello world");
  EXPECT_GT(reader->change_seq(c.id), 0);
  EXPECT_EQ(reader->keyword_search(c.id, "hello", 10, {}).size(), 1u);
  // And the other way round.
  add_document(*reader, c, "b.txt", "hello again");
  EXPECT_EQ(writer->keyword_search(c.id, "hello", 10, {}).size(), 2u);
}

TEST(SqliteStore, ABusyWriterIsALimitErrorNotCorruption) {
  TempDir dir;
  const std::string path = dir.file("kb.db");
  auto store = SqliteStore::open(path, {.busy_timeout_ms = 50});
  const Collection c = store->create_collection(test_settings("docs"));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  try {
    store->register_document(c.id, draft("a.txt", "words"));
    ADD_FAILURE() << "no error while another connection holds the write lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kLimit);
    EXPECT_NE(std::string(e.what()).find("busy"), std::string::npos);
  }
  EXPECT_EQ(store->counts().documents, 0);  // reads still work
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  store->register_document(c.id, draft("a.txt", "words"));
  EXPECT_EQ(store->counts().documents, 1);
}

TEST(SqliteStore, AStorageFailureMidCommitLeavesNothingVisible) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("kb.db"));
  const Collection c = store->create_collection(test_settings("docs"));
  const Registration r = store->register_document(c.id, draft("a.txt", "one two three four five"));
  const StoreCounts before = store->counts();
  store->fail_commit_after_chunks_for_testing(3);
  try {
    store->commit_document(r.document.id, content_of("one two three four five", 8));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
  EXPECT_EQ(store->counts(), before);
  EXPECT_TRUE(store->keyword_search(c.id, "one", 10, {}).empty());
  EXPECT_TRUE(store->check_integrity().empty());
  store->fail_commit_after_chunks_for_testing(-1);
  store->commit_document(r.document.id, content_of("one two three four five", 8));
  EXPECT_EQ(store->counts().chunks, 5);
}

// A child process registers and commits documents in a loop, telling the parent (through a pipe) each id it saw
// committed, and is killed with SIGKILL mid-way. Reopened: every reported document is indexed and searchable, the
// others are pending with their source (to resume), nothing is orphaned, and check() is clean.
TEST(SqliteStore, KillNineDuringIngestionLosesNothingCommitted) {
  TempDir dir;
  const std::string path = dir.file("kb.db");
  int64_t collection_id = 0;
  {
    auto store = SqliteStore::open(path);
    collection_id = store->create_collection(test_settings("docs")).id;
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    try {
      auto store = SqliteStore::open(path);
      const Collection c = *store->find_collection("docs");
      for (int i = 0;; ++i) {
        std::string text = "document number" + std::to_string(i);
        for (int w = 0; w < 40; ++w) text += " word" + std::to_string((i * 31 + w) % 97);
        const Registration r = store->register_document(c.id, draft("doc" + std::to_string(i), text));
        if (i % 5 == 4) {  // some stay pending: registered, never committed
          continue;
        }
        const Document d = store->commit_document(r.document.id, content_of(text, 8));
        const int64_t id = d.id;
        if (write(fds[1], &id, sizeof(id)) != sizeof(id)) _exit(1);
      }
    } catch (...) {
      _exit(2);
    }
  }
  close(fds[1]);
  std::vector<int64_t> reported;
  int64_t id = 0;
  while (reported.size() < 60 && read(fds[0], &id, sizeof(id)) == sizeof(id)) reported.push_back(id);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (read(fds[0], &id, sizeof(id)) == sizeof(id)) reported.push_back(id);  // written before the kill
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: status " << status;
  ASSERT_GE(reported.size(), 60u);

  auto store = SqliteStore::open(path);
  const auto report = check_consistency(*store, collection_id, nullptr);
  EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);
  const std::set<int64_t> committed(reported.begin(), reported.end());
  for (int64_t doc_id : committed) {
    const auto d = store->get_document(doc_id);
    ASSERT_TRUE(d) << doc_id;
    EXPECT_EQ(d->status, DocumentStatus::kIndexed);
    const auto hits = store->keyword_search(collection_id, "number" + d->name.substr(3), 5, {});
    ASSERT_FALSE(hits.empty()) << d->name;
    EXPECT_EQ(hits[0].content_id, *d->content_id);
  }
  int64_t pending = 0;
  for (const Document& d : store->list_documents(collection_id, std::nullopt, 0, 100000)) {
    if (d.status == DocumentStatus::kPending) {
      ++pending;
      EXPECT_TRUE(store->pending_source(d.id)) << d.name;  // can resume
    } else {
      EXPECT_EQ(d.status, DocumentStatus::kIndexed);
    }
  }
  EXPECT_GT(pending, 0);
  const StoreCounts counts = store->counts();
  EXPECT_EQ(counts.vectors, counts.chunks);
  EXPECT_EQ(counts.keyword_rows, counts.chunks);
  EXPECT_EQ(counts.pending_sources, pending);
}

}  // namespace
}  // namespace qembed::kb

namespace qembed::kb {
namespace {

// Damage made behind the store's back (a bug, a hand edit) is listed by check(), one line per kind.
TEST(SqliteStore, CheckListsWhatDisagrees) {
  TempDir dir;
  const std::string path = dir.file("kb.db");
  int64_t collection_id = 0;
  {
    auto store = SqliteStore::open(path);
    const Collection c = store->create_collection(test_settings("docs"));
    collection_id = c.id;
    add_document(*store, c, "a.txt", "one two three");
    EXPECT_TRUE(store->check_integrity().empty());
  }
  raw_exec(path,
           "DROP TRIGGER chunks_fts_delete;"
           "DELETE FROM chunks WHERE ordinal = 1;"
           "INSERT INTO contents (collection_id, sha256, text, pages, chunk_count) VALUES (1, 'x', 'orphan', 0, 0);");
  auto store = SqliteStore::open(path);
  const auto problems = check_consistency(*store, collection_id, nullptr).problems;
  const std::string all = ::testing::PrintToString(problems);
  EXPECT_NE(all.find("content referenced by no document"), std::string::npos) << all;
  EXPECT_NE(all.find("chunk count disagrees"), std::string::npos) << all;
  EXPECT_NE(all.find("keyword row without a chunk"), std::string::npos) << all;
}

}  // namespace
}  // namespace qembed::kb
