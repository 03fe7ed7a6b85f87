// The knowledge base joined to a real embedding service (a generated tiny model): stored vectors are exactly what
// the service computes for each chunk's embed text, search scores are cosines against the instructed query,
// rank fusion, the embed text rebuilt for reindexing, supersession while pending, and a stop that leaves
// documents pending for the next start, and a database that drops its connection (nothing kept, or a commit read
// back).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <unistd.h>
#include <filesystem>

#include "../support/generated_models.hpp"
#include "kb/document_prep.hpp"
#include "kb/knowledge_base.hpp"
#include "forwarding_store.hpp"
#include "kb/store/sqlite_store.hpp"
#include "service/embedding_service.hpp"

namespace qembed::kb {
namespace {

namespace fs = std::filesystem;

std::string tiny_model() {
  return qembed::testing::generated_model("kb-tiny-F32.gguf", "--shape tiny --format gguf --type F32 --seed 7");
}

std::unique_ptr<service::EmbeddingService> open_service() {
  service::ServiceOptions options;
  options.backend.n_threads = 2;
  options.max_batch_tokens = 2048;
  return service::EmbeddingService::load(tiny_model(), options);
}

struct TempDb {
  fs::path dir = fs::temp_directory_path() / ("qembed-kb-core-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  TempDb() { fs::create_directories(dir); }
  ~TempDb() { fs::remove_all(dir); }
  std::string path() const { return (dir / "kb.db").string(); }
};

IngestItem item(std::string name, std::string text) {
  IngestItem i;
  i.name = std::move(name);
  i.bytes = std::move(text);
  return i;
}

const char* kContract =
    "# Supply contract\n\n## Liability\n\nThe supplier is liable for any breach of contract, capped at the annual "
    "fee.\n\n## Payment\n\nInvoices are payable within thirty days of delivery.\n";

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

TEST(RankFusion, ReciprocalRanksWeightedAndMerged) {
  // a: [1, 2, 3], b: [3, 4]; weights 1 and 2.
  const std::vector<FusedId> fused = fuse_ranks({1, 2, 3}, 1.0, {3, 4}, 2.0, 10);
  ASSERT_EQ(fused.size(), 4u);
  // 3: 1/63 + 2/61; 4: 2/62; 1: 1/61; 2: 1/62.
  EXPECT_EQ(fused[0].id, 3);
  EXPECT_NEAR(fused[0].score, 1.0 / 63 + 2.0 / 61, 1e-12);
  EXPECT_EQ(fused[0].rank_a, 3);
  EXPECT_EQ(fused[0].rank_b, 1);
  EXPECT_EQ(fused[1].id, 4);
  EXPECT_FALSE(fused[1].rank_a.has_value());
  EXPECT_EQ(fused[2].id, 1);
  EXPECT_EQ(fused[3].id, 2);
  EXPECT_EQ(fuse_ranks({1, 2, 3}, 1.0, {3, 4}, 2.0, 2).size(), 2u);
  // A zero weight keeps the ids but gives that list no say in the order.
  const std::vector<FusedId> only_b = fuse_ranks({1, 2}, 0.0, {2, 1}, 1.0, 10);
  EXPECT_EQ(only_b[0].id, 2);
}

TEST(DocumentPrep, EmbedTextRebuiltFromStoredFieldsMatchesTheChunker) {
  ExtractedDocument doc = extract_document(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kContract), std::strlen(kContract)), "c.md");
  CollectionSettings settings;
  settings.chunk_tokens = 12;
  settings.overlap_tokens = 2;
  settings.prepend_title = true;
  // A fake tokenizer: one token per 4 bytes.
  TokenizeFn tokenize = [](std::string_view text) {
    TokenSpans spans;
    for (size_t i = 0; i < text.size(); i += 4) spans.emplace_back(i, std::min(text.size(), i + 4));
    return spans;
  };
  const std::string title = doc.title;
  const PreparedDocument prepared = prepare_document(std::move(doc), std::string(64, 'a'), tokenize, settings);
  ASSERT_GT(prepared.content.chunks.size(), 2u);
  EXPECT_EQ(prepared.content.title, "Supply contract");
  for (size_t i = 0; i < prepared.content.chunks.size(); ++i) {
    const ChunkInput& c = prepared.content.chunks[i];
    const std::string text = prepared.content.text.substr(static_cast<size_t>(c.byte_start),
                                                          static_cast<size_t>(c.byte_end - c.byte_start));
    EXPECT_EQ(embed_text_of(title, c.section_path, text, true), prepared.embed_texts[i]) << "chunk " << i;
    EXPECT_FALSE(c.keyword_text.empty());
  }
  EXPECT_EQ(embed_text_of("", "", "x", true), "x");
  EXPECT_EQ(embed_text_of("T", "", "x", true), "T\n\nx");
  EXPECT_EQ(embed_text_of("T", "A > B", "x", false), "x");
}

TEST(KnowledgeBase, StoredVectorsAreTheServiceEmbeddingsAndSearchScoresAreCosines) {
  TempDb tmp;
  auto svc = open_service();
  auto base = open_knowledge_base(tmp.path(), svc.get());
  CollectionRequest request;
  request.name = "docs";
  request.chunk_tokens = 24;
  request.overlap_tokens = 4;
  request.dimensions = 64;  // MRL: the stored vector is the first 64 values, renormalised
  const Collection c = base->create_collection(request);
  std::vector<IngestOutcome> outcomes;
  std::mutex m;
  const int64_t job = base->ingestion().submit(
      c, {item("contract.md", kContract), item("note.txt", "Delivery happens on Mondays.")},
      [&](const IngestOutcome& o) {
        std::lock_guard lock(m);
        outcomes.push_back(o);
      });
  base->ingestion().wait(job);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const IngestOutcome& o : outcomes) EXPECT_EQ(o.status, IngestStatus::kIndexed) << o.error;
  const std::optional<JobProgress> progress = base->ingestion().job(job);
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->state, "done");
  EXPECT_EQ(progress->indexed, 2);
  EXPECT_GT(progress->tokens, 0);

  // Every stored vector equals the service's embedding of the chunk's embed text (title and section in front).
  const Document d = base->store().find_documents(c.id, "contract.md").at(0);
  const std::vector<Chunk> chunks = base->store().content_chunks(*d.content_id);
  ASSERT_GT(chunks.size(), 1u);
  std::vector<int64_t> ids;
  for (const Chunk& ch : chunks) ids.push_back(ch.id);
  const std::vector<std::string> texts = base->store().chunk_texts(ids);
  const std::vector<float> stored = base->store().load_vectors_f32(c.id, ids);
  service::EmbedParams params;
  params.prompt_name = "document";
  params.dimensions = 64;
  for (size_t i = 0; i < chunks.size(); ++i) {
    service::EmbedInputs inputs;
    inputs.texts = {embed_text_of("Supply contract", chunks[i].section_path, texts[i], true)};
    const std::vector<float> expect = svc->embed(inputs, params).vectors.at(0);
    const std::vector<float> got(stored.begin() + static_cast<std::ptrdiff_t>(i * 64),
                                 stored.begin() + static_cast<std::ptrdiff_t>((i + 1) * 64));
    EXPECT_NEAR(dot(expect, got), 1.0, 1e-5) << "chunk " << i;
  }

  // A vector search's score is the cosine of the instructed query's embedding with the chunk's.
  SearchRequest search;
  search.query = "who pays for a breach?";
  search.mode = SearchMode::kVector;
  search.top_k = 3;
  const int64_t interactive_before = svc->stats().interactive_requests_total.load();
  const SearchResults results = base->search(c, search);
  EXPECT_EQ(svc->stats().interactive_requests_total.load(), interactive_before + 1)
      << "the query is embedded at interactive priority";
  ASSERT_EQ(results.hits.size(), 3u);
  service::EmbedParams query_params;
  query_params.instruction = c.settings.query_instruction;
  query_params.dimensions = 64;
  service::EmbedInputs query;
  query.texts = {search.query};
  const std::vector<float> q = svc->embed(query, query_params).vectors.at(0);
  for (const SearchHit& h : results.hits) {
    const std::vector<float> v = base->store().load_vectors_f32(c.id, std::vector<int64_t>{h.chunk_id});
    EXPECT_NEAR(h.score, dot(q, v), 1e-4);
  }
  EXPECT_GE(results.hits[0].score, results.hits[1].score);
  EXPECT_TRUE(base->check(c).clean());
}

TEST(KnowledgeBase, AnotherModelIsRefusedNamingBoth) {
  TempDb tmp;
  auto svc = open_service();
  auto base = open_knowledge_base(tmp.path(), svc.get());
  CollectionRequest request;
  request.name = "docs";
  Collection c = base->create_collection(request);
  c.settings.model.fingerprint = "0123456789abcdef";
  c.settings.model.name = "Qwen3-Embedding-8B";
  try {
    check_collection_model(c, model_identity_of(*svc));
    FAIL() << "a collection of another model was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Qwen3-Embedding-8B (fingerprint 0123456789abcdef"), std::string::npos) << msg;
    EXPECT_NE(msg.find(svc->model_info().fingerprint), std::string::npos) << msg;
    EXPECT_NE(msg.find("kb reindex"), std::string::npos) << msg;
  }
}

TEST(KnowledgeBase, StoppedIngestionLeavesDocumentsPendingAndTheNextStartResumesThem) {
  TempDb tmp;
  auto svc = open_service();
  std::vector<IngestItem> items;
  for (int i = 0; i < 40; ++i) {
    std::string text;
    for (int s = 0; s < 40; ++s) text += "Sentence " + std::to_string(s) + " of document " + std::to_string(i) + ". ";
    items.push_back(item("doc" + std::to_string(i) + ".txt", text));
  }
  {
    auto base = open_knowledge_base(tmp.path(), svc.get());
    CollectionRequest request;
    request.name = "docs";
    request.chunk_tokens = 32;
    request.overlap_tokens = 0;
    const Collection c = base->create_collection(request);
    base->ingestion().submit(c, items);
    // Destroyed at once: whatever is not committed stays pending (never half-written).
  }
  auto base = open_knowledge_base(tmp.path(), svc.get());
  const Collection c = base->collection("docs");
  const DocumentCounts before = base->store().document_counts(c.id);
  EXPECT_EQ(before.pending + before.indexed, 40);
  EXPECT_EQ(before.failed, 0);
  EXPECT_TRUE(base->check(c).clean());
  const std::optional<int64_t> job = base->resume_pending();
  if (before.pending > 0) {
    ASSERT_TRUE(job);
    base->ingestion().wait(*job);
  }
  const DocumentCounts after = base->store().document_counts(c.id);
  EXPECT_EQ(after.indexed, 40);
  EXPECT_EQ(base->store().counts().pending_sources, 0);
  EXPECT_TRUE(base->check(c).clean());
}

TEST(KnowledgeBase, ANewerUploadSupersedesAPendingOne) {
  TempDb tmp;
  auto svc = open_service();
  auto base = open_knowledge_base(tmp.path(), svc.get());
  CollectionRequest request;
  request.name = "docs";
  const Collection c = base->create_collection(request);
  const int64_t first = base->ingestion().submit(c, {item("a.txt", "The first version of the text.")});
  const int64_t second = base->ingestion().submit(c, {item("a.txt", "The second version of the text.")});
  base->ingestion().wait(first);
  base->ingestion().wait(second);
  const std::vector<Document> docs = base->store().find_documents(c.id, "a.txt");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].status, DocumentStatus::kIndexed);
  EXPECT_EQ(base->store().content_text(*docs[0].content_id).value_or(""), "The second version of the text.");
  const JobProgress p = *base->ingestion().job(second);
  EXPECT_TRUE(p.outcomes[0].status == IngestStatus::kIndexed || p.outcomes[0].status == IngestStatus::kReplaced);
  EXPECT_TRUE(base->check(c).clean());
}

}  // namespace
}  // namespace qembed::kb

namespace qembed::kb {
namespace {

TEST(KnowledgeBase, PendingDocumentsReportWhereTheyAre) {
  TempDb tmp;
  auto svc = open_service();
  auto base = open_knowledge_base(tmp.path(), svc.get());
  CollectionRequest request;
  request.name = "docs";
  request.chunk_tokens = 32;
  request.overlap_tokens = 0;
  const Collection c = base->create_collection(request);
  std::vector<IngestItem> items;
  for (int i = 0; i < 40; ++i) {
    std::string text;
    for (int s = 0; s < 30; ++s) text += "Line " + std::to_string(s) + " of file " + std::to_string(i) + ". ";
    items.push_back(item("f" + std::to_string(i) + ".txt", text));
  }
  const int64_t job = base->ingestion().submit(c, items);
  const std::set<std::string> valid = {"queued", "extracting", "chunking", "embedding", "committing"};
  std::set<std::string> seen;
  for (;;) {
    const JobProgress p = *base->ingestion().job(job);
    for (const IngestOutcome& o : p.outcomes) {
      if (o.status != IngestStatus::kPending) {
        EXPECT_TRUE(o.phase.empty()) << o.name << " is final but says " << o.phase;
        continue;
      }
      EXPECT_TRUE(valid.count(o.phase)) << o.name << ": phase '" << o.phase << "'";
      seen.insert(o.phase);
      if (o.phase == "embedding") {
        EXPECT_GT(o.chunks, 0);
        EXPECT_LE(o.embedded, o.chunks);
      }
    }
    if (p.state == "done") break;
  }
  EXPECT_GE(seen.size(), 2u) << "a 40-document job passes through several phases";
  EXPECT_EQ(base->ingestion().job(job)->indexed, 40);
}

}  // namespace
}  // namespace qembed::kb

// --- a database that drops its connection (PostgreSQL restarting), through a store that fails on cue

namespace qembed::kb {
namespace {

//! Refuses to record uploads as a database that cannot be reached does; commits land, but the first one's
//! connection breaks right after its COMMIT, so the caller cannot tell that it landed.
class DroppingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  bool refuse_registration = false;
  int commits_lost = 0;

  Registration register_document(int64_t collection_id, const DocumentDraft& draft) override {
    if (refuse_registration) throw UnavailableError("knowledge-base database: connection lost (test); retry");
    return ForwardingStore::register_document(collection_id, draft);
  }
  Document commit_document(int64_t id, const DocumentContent& content) override {
    Document d = ForwardingStore::commit_document(id, content);
    if (commits_lost++ == 0) throw UnavailableError("knowledge-base database: connection lost during COMMIT (test)");
    return d;
  }
};

//! A knowledge base with a "docs" collection, and an ingestion that writes through a DroppingStore over its store.
class DroppingDatabase : public ::testing::Test {
 protected:
  IngestOutcome ingest(IngestItem file) {
    const int64_t job = ingestion.submit(collection, {std::move(file)});
    ingestion.wait(job);
    return ingestion.job(job)->outcomes.at(0);
  }
  TempDb tmp;
  std::unique_ptr<service::EmbeddingService> svc = open_service();
  std::unique_ptr<KnowledgeBase> base = open_knowledge_base(tmp.path(), svc.get());
  Collection collection = base->create_collection([] {
    CollectionRequest r;
    r.name = "docs";
    return r;
  }());
  DroppingStore store{base->store()};
  Ingestion ingestion{store, svc.get(), ExtractLimits{}, 0};
};

TEST_F(DroppingDatabase, AnUnreachableDatabaseFailsTheFileAsUnavailableAndKeepsNothing) {
  store.refuse_registration = true;
  const IngestOutcome o = ingest(item("a.txt", "Text that never reaches the database."));
  EXPECT_EQ(o.status, IngestStatus::kFailed);
  EXPECT_TRUE(o.unavailable) << o.error;
  EXPECT_NE(o.error.find("connection lost"), std::string::npos) << o.error;
  EXPECT_EQ(base->store().counts().documents, 0);
}

TEST_F(DroppingDatabase, ACommitThatLandedBeforeItsConnectionBrokeIsReportedIndexed) {
  const IngestOutcome o = ingest(item("contract.md", kContract));
  EXPECT_EQ(o.status, IngestStatus::kIndexed) << o.error;
  EXPECT_FALSE(o.unavailable);
  EXPECT_GT(o.chunks, 0);
  EXPECT_EQ(store.commits_lost, 1) << "read back, not committed a second time";
  const std::vector<Document> docs = base->store().find_documents(collection.id, "contract.md");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].status, DocumentStatus::kIndexed);
  EXPECT_TRUE(base->check(collection).clean());
}

}  // namespace
}  // namespace qembed::kb
