// Store behaviour at the interface: collections, documents, shared content, replace, delete, atomicity, keyword
// search and filters, the change log. Runs for every store in store_factories().
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "kb/store/consistency.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using testing::add_document;
using testing::content_of;
using testing::draft;
using testing::test_settings;

class StoreTest : public ::testing::TestWithParam<testing::StoreFactory> {
 protected:
  void SetUp() override {
    if (const std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
    store_ = GetParam().open(dir_, "kb");
    coll_ = store_->create_collection(test_settings("docs"));
  }
  void expect_clean() {
    const auto report = check_consistency(*store_, coll_.id, nullptr);
    EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);
  }
  std::vector<int64_t> keyword_chunks(const std::string& terms, const SearchFilter& filter = {}) {
    std::vector<int64_t> out;
    for (const auto& hit : store_->keyword_search(coll_.id, terms, 100, filter)) out.push_back(hit.chunk_id);
    return out;
  }
  size_t keyword_count(const std::string& terms, const SearchFilter& filter = {}) {
    return keyword_chunks(terms, filter).size();
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  Collection coll_;
};

ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::kInternal;
}

TEST_P(StoreTest, CollectionsRecordTheirSettings) {
  const auto found = store_->find_collection("docs");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, coll_.id);
  EXPECT_EQ(found->settings.model.fingerprint, "fp-1234");
  EXPECT_EQ(found->settings.dimensions, 8);
  EXPECT_EQ(found->settings.vector_type, VectorType::kF32);
  EXPECT_EQ(found->settings.query_instruction, coll_.settings.query_instruction);
  EXPECT_EQ(kind_of([&] { store_->create_collection(test_settings("docs")); }), ErrorKind::kInvalidInput);
  auto bad = test_settings("wide", 32);  // more than the model's 16
  EXPECT_EQ(kind_of([&] { store_->create_collection(bad); }), ErrorKind::kInvalidInput);
  bad = test_settings("overlap");
  bad.overlap_tokens = bad.chunk_tokens;
  EXPECT_EQ(kind_of([&] { store_->create_collection(bad); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(store_->list_collections().size(), 1u);
}

TEST_P(StoreTest, CommittedDocumentIsIndexedWithTextChunksAndKeywords) {
  const Registration r = store_->register_document(coll_.id, draft("a.txt", "Alpha beta gamma", "txt"));
  EXPECT_EQ(r.outcome, RegisterOutcome::kCreated);
  EXPECT_EQ(r.document.status, DocumentStatus::kPending);
  EXPECT_EQ(store_->pending_source(r.document.id), "Alpha beta gamma");
  EXPECT_EQ(keyword_count("alpha"), 0u);  // pending: not searchable

  const Document d = store_->commit_document(r.document.id, content_of("Alpha beta gamma", 8));
  EXPECT_EQ(d.status, DocumentStatus::kIndexed);
  EXPECT_EQ(d.chunk_count, 3);
  EXPECT_EQ(d.pages, 1);
  ASSERT_TRUE(d.content_id);
  EXPECT_EQ(store_->content_text(*d.content_id), "Alpha beta gamma");
  EXPECT_FALSE(store_->pending_source(d.id));
  const auto chunks = store_->content_chunks(*d.content_id);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].ordinal, 1);
  EXPECT_EQ(chunks[1].byte_start, 6);
  EXPECT_EQ(chunks[1].byte_end, 10);
  EXPECT_EQ(chunks[1].keyword_text, "beta");
  EXPECT_EQ(chunks[1].section_path, "Intro");
  EXPECT_EQ(keyword_chunks("beta"), std::vector<int64_t>{chunks[1].id});
  const StoreCounts c = store_->counts();
  EXPECT_EQ(c.documents, 1);
  EXPECT_EQ(c.contents, 1);
  EXPECT_EQ(c.chunks, 3);
  EXPECT_EQ(c.vectors, 3);
  EXPECT_EQ(c.keyword_rows, 3);
  EXPECT_EQ(c.pending_sources, 0);
  // Stored f32 vectors come back exactly.
  const auto expected = content_of("Alpha beta gamma", 8).vectors;
  const std::vector<int64_t> ids = {chunks[0].id, chunks[1].id, chunks[2].id};
  EXPECT_EQ(store_->load_vectors_f32(coll_.id, ids), expected);
  expect_clean();
}

TEST_P(StoreTest, SameNameSameContentIsADuplicate) {
  const Document first = add_document(*store_, coll_, "a.txt", "one two");
  const StoreCounts before = store_->counts();
  const Registration again = store_->register_document(coll_.id, draft("a.txt", "one two"));
  EXPECT_EQ(again.outcome, RegisterOutcome::kDuplicate);
  EXPECT_EQ(again.document.id, first.id);
  EXPECT_EQ(store_->counts(), before);
  // A pending upload registered twice is one document.
  const Registration p1 = store_->register_document(coll_.id, draft("b.txt", "three four"));
  const Registration p2 = store_->register_document(coll_.id, draft("b.txt", "three four"));
  EXPECT_EQ(p2.outcome, RegisterOutcome::kDuplicate);
  EXPECT_EQ(p2.document.id, p1.document.id);
}

TEST_P(StoreTest, SameContentUnderAnotherNameSharesStoredVectors) {
  const Document a = add_document(*store_, coll_, "a.txt", "shared words here");
  const StoreCounts before = store_->counts();
  const Registration b = store_->register_document(coll_.id, draft("copy-of-a.txt", "shared words here", "md"));
  EXPECT_EQ(b.outcome, RegisterOutcome::kSharedContent);
  EXPECT_EQ(b.document.status, DocumentStatus::kIndexed);  // no embedding needed
  EXPECT_EQ(b.document.content_id, a.content_id);
  EXPECT_EQ(b.document.chunk_count, 3);
  const StoreCounts after = store_->counts();
  EXPECT_EQ(after.documents, before.documents + 1);
  EXPECT_EQ(after.contents, before.contents);
  EXPECT_EQ(after.vectors, before.vectors);
  EXPECT_EQ(after.pending_sources, 0);
  // Both documents are found for the shared chunks; a format filter picks one.
  const std::vector<int64_t> content = {*a.content_id};
  EXPECT_EQ(store_->documents_for_contents(content, {}).size(), 2u);
  SearchFilter md;
  md.formats = {"md"};
  const auto only_md = store_->documents_for_contents(content, md);
  ASSERT_EQ(only_md.size(), 1u);
  EXPECT_EQ(only_md[0].second.name, "copy-of-a.txt");
  expect_clean();
}

TEST_P(StoreTest, ReplacingANameSwapsVersionsAtomically) {
  const Document v1 = add_document(*store_, coll_, "notes.md", "old apple");
  const Registration r = store_->register_document(coll_.id, draft("notes.md", "new banana cherry"));
  EXPECT_EQ(r.outcome, RegisterOutcome::kCreated);
  EXPECT_NE(r.document.id, v1.id);
  // Until the new version commits, the old one is what search sees.
  EXPECT_EQ(keyword_count("apple"), 1u);
  EXPECT_EQ(store_->find_documents(coll_.id, "notes.md").size(), 2u);
  store_->commit_document(r.document.id, content_of("new banana cherry", 8));
  EXPECT_EQ(keyword_count("apple"), 0u);
  EXPECT_EQ(keyword_count("banana"), 1u);
  const auto versions = store_->find_documents(coll_.id, "notes.md");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].id, r.document.id);
  EXPECT_FALSE(store_->get_document(v1.id));
  EXPECT_FALSE(store_->content_text(*v1.content_id));  // the old text is gone
  const StoreCounts c = store_->counts();
  EXPECT_EQ(c.documents, 1);
  EXPECT_EQ(c.contents, 1);
  EXPECT_EQ(c.chunks, 3);
  EXPECT_EQ(c.vectors, 3);
  EXPECT_EQ(c.keyword_rows, 3);
  expect_clean();
}

TEST_P(StoreTest, ReplacingWithContentStoredElsewhereIsImmediate) {
  add_document(*store_, coll_, "a.txt", "red green");
  const Document b = add_document(*store_, coll_, "b.txt", "blue yellow");
  const Registration r = store_->register_document(coll_.id, draft("a.txt", "blue yellow"));
  EXPECT_EQ(r.outcome, RegisterOutcome::kSharedContent);
  EXPECT_EQ(r.document.content_id, b.content_id);
  EXPECT_EQ(keyword_count("red"), 0u);
  const StoreCounts c = store_->counts();
  EXPECT_EQ(c.documents, 2);
  EXPECT_EQ(c.contents, 1);
  EXPECT_EQ(c.chunks, 2);
  expect_clean();
}

TEST_P(StoreTest, DeletingLeavesNothingBehind) {
  const Document a = add_document(*store_, coll_, "a.txt", "one two three", "txt", R"({"team":"x"})");
  const Registration b = store_->register_document(coll_.id, draft("b.txt", "one two three"));  // shares a
  add_document(*store_, coll_, "c.txt", "four five");
  const Registration pending = store_->register_document(coll_.id, draft("d.txt", "six seven"));
  store_->delete_document(a.id);
  EXPECT_EQ(keyword_count("two"), 1u);  // still shared by b
  EXPECT_EQ(store_->counts().contents, 2);
  store_->delete_document(b.document.id);
  EXPECT_EQ(keyword_count("two"), 0u);
  for (const Document& d : store_->list_documents(coll_.id, std::nullopt, 0, 100)) store_->delete_document(d.id);
  EXPECT_FALSE(store_->get_document(pending.document.id));
  EXPECT_EQ(store_->counts(), (StoreCounts{1, 0, 0, 0, 0, 0, 0}));
  expect_clean();
  EXPECT_EQ(kind_of([&] { store_->delete_document(a.id); }), ErrorKind::kInvalidInput);
}

TEST_P(StoreTest, DeletingACollectionRemovesEverythingInIt) {
  add_document(*store_, coll_, "a.txt", "one two three");
  store_->register_document(coll_.id, draft("p.txt", "pending words"));
  const Collection other = store_->create_collection(test_settings("other"));
  add_document(*store_, other, "a.txt", "one two three");  // same content, other collection: stored separately
  EXPECT_EQ(store_->counts().contents, 2);
  store_->delete_collection(coll_.id);
  EXPECT_EQ(store_->counts(), (StoreCounts{1, 1, 1, 3, 3, 3, 0}));
  EXPECT_FALSE(store_->find_collection("docs"));
  EXPECT_EQ(store_->change_seq(coll_.id), 0);
}

TEST_P(StoreTest, AFailedCommitChangesNothing) {
  add_document(*store_, coll_, "keep.txt", "keep these words");
  const Registration r = store_->register_document(coll_.id, draft("bad.txt", "alpha beta gamma delta"));
  const StoreCounts before = store_->counts();
  const int64_t seq_before = store_->change_seq(coll_.id);

  DocumentContent nan_in_last = content_of("alpha beta gamma delta", 8);
  nan_in_last.vectors.back() = std::nanf("");  // found only after three chunks were written
  EXPECT_EQ(kind_of([&] { store_->commit_document(r.document.id, nan_in_last); }), ErrorKind::kInvalidInput);
  DocumentContent chunk_outside = content_of("alpha beta gamma delta", 8);
  chunk_outside.chunks.back().byte_end = 1000;
  EXPECT_EQ(kind_of([&] { store_->commit_document(r.document.id, chunk_outside); }), ErrorKind::kInvalidInput);
  DocumentContent short_vectors = content_of("alpha beta gamma delta", 8);
  short_vectors.vectors.pop_back();
  EXPECT_EQ(kind_of([&] { store_->commit_document(r.document.id, short_vectors); }), ErrorKind::kInvalidInput);

  EXPECT_EQ(store_->counts(), before);
  EXPECT_EQ(store_->change_seq(coll_.id), seq_before);
  EXPECT_EQ(keyword_count("alpha"), 0u);
  EXPECT_EQ(store_->get_document(r.document.id)->status, DocumentStatus::kPending);
  EXPECT_TRUE(store_->pending_source(r.document.id));
  expect_clean();
  // And it still commits afterwards.
  store_->commit_document(r.document.id, content_of("alpha beta gamma delta", 8));
  EXPECT_EQ(keyword_count("alpha"), 1u);
}

TEST_P(StoreTest, AReuploadSupersedesAnUnfinishedOne) {
  const Registration first = store_->register_document(coll_.id, draft("a.txt", "version one"));
  const Registration second = store_->register_document(coll_.id, draft("a.txt", "version two"));
  EXPECT_EQ(second.outcome, RegisterOutcome::kCreated);
  EXPECT_NE(second.document.id, first.document.id);  // version one is dropped
  EXPECT_FALSE(store_->get_document(first.document.id));
  // The worker that was ingesting version one cannot commit it.
  EXPECT_EQ(kind_of([&] { store_->commit_document(first.document.id, content_of("version one", 8)); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of([&] { store_->commit_document(second.document.id, content_of("version one", 8)); }),
            ErrorKind::kInvalidInput);  // nor under version two's row
  EXPECT_EQ(store_->pending_source(second.document.id), "version two");
  store_->commit_document(second.document.id, content_of("version two", 8));
  EXPECT_EQ(keyword_count("two"), 1u);
  EXPECT_EQ(keyword_count("one"), 0u);
}

TEST_P(StoreTest, FailedDocumentsKeepTheirReasonAndCanBeRetried) {
  const Registration r = store_->register_document(coll_.id, draft("scan.pdf", "unreadable", "pdf"));
  store_->fail_document(r.document.id, "PDF has no text layer");
  Document d = *store_->get_document(r.document.id);
  EXPECT_EQ(d.status, DocumentStatus::kFailed);
  EXPECT_EQ(d.error, "PDF has no text layer");
  EXPECT_FALSE(store_->pending_source(d.id));
  EXPECT_EQ(store_->list_documents(coll_.id, DocumentStatus::kFailed, 0, 10).size(), 1u);
  add_document(*store_, coll_, "ok.txt", "fine words");
  store_->register_document(coll_.id, draft("later.txt", "not yet"));
  EXPECT_EQ(store_->document_counts(coll_.id), (DocumentCounts{1, 1, 1}));
  EXPECT_EQ(kind_of([&] { store_->fail_document(d.id, "again"); }), ErrorKind::kInvalidInput);
  const Registration retry = store_->register_document(coll_.id, draft("scan.pdf", "unreadable", "pdf"));
  EXPECT_EQ(retry.outcome, RegisterOutcome::kRetry);
  EXPECT_EQ(retry.document.status, DocumentStatus::kPending);
  EXPECT_EQ(retry.document.error, "");
  EXPECT_TRUE(store_->pending_source(d.id));
  expect_clean();
}

TEST_P(StoreTest, RegisterValidatesItsInput) {
  auto bad = draft("a.txt", "x");
  bad.sha256 = "XYZ";
  EXPECT_EQ(kind_of([&] { store_->register_document(coll_.id, bad); }), ErrorKind::kInvalidInput);
  bad = draft("a.txt", "x", "txt", "[1,2]");
  EXPECT_EQ(kind_of([&] { store_->register_document(coll_.id, bad); }), ErrorKind::kInvalidInput);
  bad = draft("", "x");
  EXPECT_EQ(kind_of([&] { store_->register_document(coll_.id, bad); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of([&] { store_->register_document(coll_.id + 100, draft("a", "x")); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(store_->counts().documents, 0);
}

TEST_P(StoreTest, KeywordSearchRanksByBm25AndFilters) {
  const Document a =
      add_document(*store_, coll_, "a.md", "contract contract term", "md", R"({"team":"legal","year":2024})");
  const Document b =
      add_document(*store_, coll_, "b.txt", "contract renewal", "txt", R"({"team":"sales","year":2023})");
  add_document(*store_, coll_, "c.pdf", "unrelated words", "pdf", R"({"team":"legal"})");
  const auto hits = store_->keyword_search(coll_.id, "contract", 10, {});
  ASSERT_EQ(hits.size(), 3u);
  for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  EXPECT_GT(hits[0].score, 0);

  SearchFilter by_doc;
  by_doc.document_ids = {b.id};
  EXPECT_EQ(keyword_count("contract", by_doc), 1u);
  SearchFilter by_format;
  by_format.formats = {"md", "pdf"};
  EXPECT_EQ(keyword_count("contract", by_format), 2u);
  SearchFilter by_team;
  by_team.metadata_equals = {{"team", "\"legal\""}};
  EXPECT_EQ(keyword_count("contract", by_team), 2u);
  SearchFilter by_year;
  by_year.metadata_equals = {{"year", "2023"}};
  EXPECT_EQ(keyword_count("contract", by_year), 1u);
  by_year.metadata_equals.push_back({"team", "\"legal\""});
  EXPECT_EQ(keyword_count("contract", by_year), 0u);
  EXPECT_EQ(store_->filter_chunk_ids(coll_.id, by_team).size(), 5u);  // a's 3 + c's 2
  store_->set_metadata(a.id, R"({"team":"sales"})");
  EXPECT_EQ(keyword_count("contract", by_team), 0u);
  EXPECT_EQ(keyword_count("contract renewal", {}), 4u);  // any term: a's two, b's two
  EXPECT_EQ(store_->keyword_search(coll_.id, "contract", 1, {}).size(), 1u);
  EXPECT_TRUE(store_->keyword_search(coll_.id, "   ", 10, {}).empty());
}

TEST_P(StoreTest, QueryTextIsNeverSqlOrFts5Syntax) {
  add_document(*store_, coll_, "a.txt", "plain words");
  for (const char* q : {"\"", "' OR 1=1 --", "words\" OR \"x", "NEAR(a b)", "a*", "-words", "col:words", ")(", "\\"}) {
    EXPECT_NO_THROW(store_->keyword_search(coll_.id, q, 10, {})) << q;
  }
  EXPECT_EQ(keyword_count("NOT words"), 1u);  // operators are terms: "NOT" OR "words", not a syntax error
  SearchFilter evil;
  evil.metadata_equals = {{"x') OR 1=1 --", "\"y\""}};
  evil.formats = {"txt' OR '1'='1"};
  EXPECT_EQ(keyword_count("words", evil), 0u);
  EXPECT_EQ(store_->counts().documents, 1);
}

TEST_P(StoreTest, TheChangeLogRecordsAddedAndRemovedChunks) {
  EXPECT_EQ(store_->change_seq(coll_.id), 0);
  const Document a = add_document(*store_, coll_, "a.txt", "one two three");
  const int64_t after_add = store_->change_seq(coll_.id);
  EXPECT_GT(after_add, 0);
  store_->register_document(coll_.id, draft("b.txt", "one two three"));  // shared: no new chunks
  EXPECT_EQ(store_->change_seq(coll_.id), after_add);
  store_->delete_document(a.id);
  EXPECT_EQ(store_->change_seq(coll_.id), after_add);  // still referenced by b
  store_->delete_document(store_->find_documents(coll_.id, "b.txt")[0].id);
  const auto changes = store_->changes_since(coll_.id, 0, 100);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[0].added);
  EXPECT_FALSE(changes[1].added);
  EXPECT_EQ(changes[0].last_chunk_id - changes[0].first_chunk_id, 2);
  EXPECT_EQ(changes[1].first_chunk_id, changes[0].first_chunk_id);
  EXPECT_EQ(changes[1].last_chunk_id, changes[0].last_chunk_id);
  EXPECT_EQ(store_->changes_since(coll_.id, changes[0].seq, 100).size(), 1u);
}

TEST_P(StoreTest, VectorTypesRoundTrip) {
  for (VectorType type : {VectorType::kF16, VectorType::kInt8}) {
    const Collection c = store_->create_collection(test_settings(vector_type_name(type), 8, type));
    const Document d = add_document(*store_, c, "a.txt", "one two three four");
    const auto chunks = store_->content_chunks(*d.content_id);
    std::vector<int64_t> ids;
    for (const auto& ch : chunks) ids.push_back(ch.id);
    const auto got = store_->load_vectors_f32(c.id, ids);  // int8: the f16 originals
    const auto want = content_of("one two three four", 8).vectors;
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3) << vector_type_name(type);
    size_t n = 0;
    store_->scan_vectors(c.id, [&](const StoredVector& v) {
      EXPECT_EQ(v.data.size(), type == VectorType::kF16 ? 16u : 8u);
      ++n;
    });
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(kind_of([&] { store_->load_vectors_f32(coll_.id, ids); }), ErrorKind::kInvalidInput);  // other coll
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::ValuesIn(testing::store_factories()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qembed::kb
