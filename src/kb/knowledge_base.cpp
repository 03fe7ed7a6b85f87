#include "kb/knowledge_base.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "kb/content_hash.hpp"
#include "kb/document_prep.hpp"
#include "kb/store/index_file.hpp"
#include "kb/store/pg_store.hpp"
#include "kb/store/pg_url.hpp"
#include "kb/store/sqlite_store.hpp"
#include "kb/text/keyword_terms.hpp"
#include "kb/text/utf8_offsets.hpp"
#include "service/embedding_service.hpp"

namespace qembed::kb {

ModelIdentity model_identity_of(const service::EmbeddingService& service) {
  const service::ModelInfo& info = service.model_info();
  ModelIdentity id;
  id.name = info.id;
  id.fingerprint = info.fingerprint;
  id.dimensions = static_cast<int32_t>(info.n_embd);
  return id;
}

namespace {

std::string describe(const ModelIdentity& m) {
  return m.name + " (fingerprint " + m.fingerprint + ", " + std::to_string(m.dimensions) + " dimensions)";
}

}  // namespace

void check_collection_model(const Collection& collection, const ModelIdentity& model) {
  const ModelIdentity& built = collection.settings.model;
  if (built.fingerprint == model.fingerprint && built.dimensions == model.dimensions) return;
  throw Error("collection '" + collection.settings.name + "' was built with model " + describe(built) +
              "; the loaded model is " + describe(model) +
              ": load that model, or run `qembed kb reindex` to re-embed the collection with this one");
}

bool is_database_url(std::string_view location) { return is_pg_url(location); }
std::string kb_display_location(std::string_view location) { return redact_pg_url(location); }

std::unique_ptr<KnowledgeBase> open_knowledge_base(const std::string& db_path, service::EmbeddingService* service,
                                                   const KnowledgeBaseOptions& options,
                                                   service::EmbeddingService* reranker) {
  if (is_pg_url(db_path)) {
    // PostgreSQL: each replica keeps its vector indexes in memory, built from the database when first searched
    // and kept current from its change log. QEMBED_KB_INDEX_DIR=<folder> keeps their files there instead (as
    // SQLite keeps them beside the .db file), so a restart loads rather than rebuilds; one folder per database.
    std::shared_ptr<Store> store = PgStore::open(db_path);
    std::string index_base;
    if (const char* dir = std::getenv("QEMBED_KB_INDEX_DIR"); dir && *dir) {
      index_base = (std::filesystem::path(dir) / "kb").string();
    }
    return std::make_unique<KnowledgeBase>(std::move(store), index_base, service, options, reranker);
  }
  std::shared_ptr<Store> store = SqliteStore::open(db_path);
  return std::make_unique<KnowledgeBase>(std::move(store), db_path == ":memory:" ? std::string() : db_path, service,
                                         options, reranker);
}

KnowledgeBase::KnowledgeBase(std::shared_ptr<Store> store, std::string db_path, service::EmbeddingService* service,
                             const KnowledgeBaseOptions& options, service::EmbeddingService* reranker)
    : store_(std::move(store)), db_path_(std::move(db_path)), service_(service), options_(options) {
  searcher_ =
      std::make_unique<Searcher>(*store_, db_path_, service_, options_.index, options_.search_threads, reranker);
  ingestion_ = std::make_unique<Ingestion>(*store_, service_, options_.limits, options_.max_inflight_tokens);
}

KnowledgeBase::~KnowledgeBase() {
  ingestion_.reset();  // first: its threads use the store and the service
  searcher_.reset();
}

Collection KnowledgeBase::create_collection(const CollectionRequest& request) {
  if (!service_) throw Error("creating a collection needs a model (--model)");
  CollectionSettings settings;
  settings.name = request.name;
  settings.model = model_identity_of(*service_);
  settings.dimensions = request.dimensions == 0 ? settings.model.dimensions : request.dimensions;
  service::check_dimensions(settings.dimensions, settings.model.dimensions);
  settings.vector_type = request.vector_type;
  settings.chunk_tokens = request.chunk_tokens;
  settings.overlap_tokens = request.overlap_tokens;
  if (settings.chunk_tokens < kMinChunkTokens || settings.chunk_tokens > 8192) {
    throw Error("chunk tokens " + std::to_string(settings.chunk_tokens) + " is out of range (" +
                std::to_string(kMinChunkTokens) + " to 8192)");
  }
  if (settings.overlap_tokens < 0 || settings.overlap_tokens >= settings.chunk_tokens) {
    throw Error("chunk overlap " + std::to_string(settings.overlap_tokens) +
                " must be at least 0 and less than the chunk size " + std::to_string(settings.chunk_tokens));
  }
  settings.prepend_title = request.prepend_title;
  settings.query_instruction =
      request.query_instruction.empty() ? std::string(service::kDefaultQueryTask) : request.query_instruction;
  settings.rerank = request.rerank;
  return store_->create_collection(settings);
}

Collection KnowledgeBase::collection(std::string_view name) {
  std::optional<Collection> c = store_->find_collection(name);
  if (!c) throw Error("no collection named '" + std::string(name) + "'");
  return *c;
}

Collection KnowledgeBase::collection_for_model(std::string_view name) {
  Collection c = collection(name);
  if (!service_) throw Error("collection '" + std::string(name) + "' needs a model (--model)");
  check_collection_model(c, model_identity_of(*service_));
  return c;
}

void KnowledgeBase::delete_collection(std::string_view name) {
  const Collection c = collection(name);
  store_->delete_collection(c.id);
  searcher_->drop_index(c.id);
  if (!db_path_.empty()) {
    std::error_code ec;
    const std::string path = vector_index_path(db_path_, c.id);
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path + ".meta", ec);
  }
}

std::optional<int64_t> KnowledgeBase::resume_pending() {
  if (!service_) return std::nullopt;
  const ModelIdentity model = model_identity_of(*service_);
  std::optional<int64_t> last;
  for (const Collection& c : store_->list_collections()) {
    if (c.settings.model.fingerprint != model.fingerprint) continue;  // resumed when its own model is loaded
    if (std::optional<int64_t> job = ingestion_->resume(c)) last = job;
  }
  return last;
}

IngestOutcome KnowledgeBase::import_document(const Collection& collection, ImportedDocument document) {
  IngestOutcome outcome;
  outcome.name = document.name;
  outcome.status = IngestStatus::kFailed;
  const auto dims = static_cast<size_t>(collection.settings.dimensions);
  DocumentContent content;
  try {
    if (document.chunks.empty()) throw Error(document.name + ": no chunks");
    for (size_t i = 0; i < document.chunks.size(); ++i) {
      ImportedChunk& c = document.chunks[i];
      if (c.vector.size() != dims) {
        throw Error(document.name + ": chunk " + std::to_string(i) + " has a vector of " +
                    std::to_string(c.vector.size()) + " values; the collection stores " + std::to_string(dims));
      }
      double norm = 0;
      for (float v : c.vector) norm += static_cast<double>(v) * v;
      if (!(norm > 0) || !std::isfinite(norm)) {
        throw Error(document.name + ": chunk " + std::to_string(i) + " has a zero or non-finite vector");
      }
      const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      if (!content.text.empty()) content.text += "\n\n";
      ChunkInput in;
      in.byte_start = static_cast<int64_t>(content.text.size());
      in.cp_start = code_point_count(content.text);
      content.text += c.text;
      in.byte_end = static_cast<int64_t>(content.text.size());
      in.cp_end = in.cp_start + code_point_count(c.text);
      in.page_first = in.page_last = c.page;
      in.section_path = c.section;
      in.keyword_text = keyword_index_text(c.text);
      content.chunks.push_back(std::move(in));
      for (float v : c.vector) content.vectors.push_back(v * inv);
    }
    DocumentDraft draft;
    draft.name = document.name;
    draft.sha256 = sha256_hex(content.text);
    draft.format = "text";
    draft.size_bytes = static_cast<int64_t>(content.text.size());
    draft.metadata_json = document.metadata_json.empty() ? "{}" : document.metadata_json;
    bool replacing = false;
    for (const Document& d : store_->find_documents(collection.id, document.name)) {
      if (d.status == DocumentStatus::kIndexed && d.sha256 != draft.sha256) replacing = true;
    }
    const Registration reg = store_->register_document(collection.id, draft);
    outcome.document_id = reg.document.id;
    if (reg.outcome == RegisterOutcome::kDuplicate) {
      outcome.status = IngestStatus::kDuplicate;
      outcome.chunks = reg.document.chunk_count;
      return outcome;
    }
    if (reg.outcome == RegisterOutcome::kSharedContent) {
      outcome.status = replacing ? IngestStatus::kReplaced : IngestStatus::kIndexed;
      outcome.chunks = reg.document.chunk_count;
      return outcome;
    }
    content.sha256 = draft.sha256;
    const Document committed = store_->commit_document(reg.document.id, content);
    outcome.status = replacing ? IngestStatus::kReplaced : IngestStatus::kIndexed;
    outcome.chunks = committed.chunk_count;
  } catch (const Error& e) {
    outcome.error = e.what();
    if (outcome.document_id) {
      try {
        store_->fail_document(outcome.document_id, e.what());
      } catch (const Error&) {
        // not pending (committed or superseded): nothing to mark
      }
    }
  }
  return outcome;
}

SearchResults KnowledgeBase::search(const Collection& collection, const SearchRequest& request) {
  if (request.mode != SearchMode::kKeyword) {
    if (!service_) throw Error("vector and hybrid search need a model (--model)");
    check_collection_model(collection, model_identity_of(*service_));
  }
  return searcher_->search(collection, request);
}

ConsistencyReport KnowledgeBase::check(const Collection& collection) {
  std::shared_ptr<VectorIndex> index = searcher_->index(collection);
  return check_consistency(*store_, collection.id, index.get());
}

ConsistencyReport KnowledgeBase::check_store() {
  ConsistencyReport report;
  report.problems = store_->check_integrity();
  return report;
}

int64_t KnowledgeBase::reindex(const Collection& collection, int32_t dimensions,
                               const std::function<void(int64_t, int64_t)>& progress) {
  if (!service_) throw Error("reindexing needs the new model (--model)");
  const ModelIdentity model = model_identity_of(*service_);
  const int32_t dims = dimensions > 0 ? dimensions : std::min(collection.settings.dimensions, model.dimensions);
  service::check_dimensions(dims, model.dimensions);

  // Every content of the collection once (documents sharing a content share its chunks).
  std::set<int64_t> contents;
  for (int64_t after = 0;;) {
    std::vector<Document> page = store_->list_documents(collection.id, DocumentStatus::kIndexed, after, 1000);
    if (page.empty()) break;
    after = page.back().id;
    for (const Document& d : page) {
      if (d.content_id) contents.insert(*d.content_id);
    }
  }
  std::vector<int64_t> chunk_ids;
  std::vector<float> vectors;
  int64_t total = 0;
  for (int64_t content_id : contents) total += static_cast<int64_t>(store_->content_chunks(content_id).size());
  service::EmbedParams params;
  params.prompt_name = "document";
  params.truncate = true;
  params.dimensions = dims == model.dimensions ? 0 : dims;
  int64_t done = 0;
  for (int64_t content_id : contents) {
    const std::vector<Chunk> chunks = store_->content_chunks(content_id);
    if (chunks.empty()) continue;
    const std::string title = store_->content_title(content_id).value_or("");
    std::vector<int64_t> ids;
    for (const Chunk& c : chunks) ids.push_back(c.id);
    const std::vector<std::string> texts = store_->chunk_texts(ids);
    // In groups of about one batch, so a huge document does not make one huge request.
    size_t first = 0;
    while (first < chunks.size()) {
      service::EmbedInputs inputs;
      int64_t group_tokens = 0;
      size_t last = first;
      while (last < chunks.size() && (last == first || group_tokens < service_->options().max_batch_tokens / 2)) {
        inputs.texts.push_back(
            embed_text_of(title, chunks[last].section_path, texts[last], collection.settings.prepend_title));
        group_tokens += chunks[last].n_tokens + 16;
        ++last;
      }
      service::EncodedRequest request = service_->encode(inputs, params);
      request.priority = service::Priority::kBulk;
      service::EmbedResult result = service_->embed(std::move(request));
      for (size_t i = 0; i < result.vectors.size(); ++i) {
        chunk_ids.push_back(chunks[first + i].id);
        vectors.insert(vectors.end(), result.vectors[i].begin(), result.vectors[i].end());
      }
      done += static_cast<int64_t>(last - first);
      if (progress) progress(done, total);
      first = last;
    }
  }
  store_->replace_vectors(collection.id, model, dims, chunk_ids, vectors);
  searcher_->drop_index(collection.id);
  if (!db_path_.empty()) {
    std::error_code ec;
    const std::string path = vector_index_path(db_path_, collection.id);
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path + ".meta", ec);
  }
  return static_cast<int64_t>(chunk_ids.size());
}

}  // namespace qembed::kb
