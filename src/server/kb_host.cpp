#include "server/kb_host.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kb/knowledge_base.hpp"
#include "service/embedding_service.hpp"

namespace qembed::server {

namespace fs = std::filesystem;

namespace {

// How often the background thread re-reads the /metrics gauges when nothing told it that something changed.
constexpr auto kGaugeRefreshPeriod = std::chrono::seconds(5);

int64_t env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  return *end == '\0' && x > 0 ? static_cast<int64_t>(x) : 0;
}

}  // namespace

int64_t vector_index_bytes_per_vector(int64_t dims, kb::VectorType type, size_t hnsw_m) {
  const int64_t m = static_cast<int64_t>(hnsw_m);
  const int64_t point = type == kb::VectorType::kInt8 ? dims + 4 : dims * 4;
  const int64_t level0_links = 2 * m * 4 + 4;
  const int64_t label = 8, level = 4, link_list_pointer = 8, lock = 40, label_map_entry = 48;
  const int64_t upper_levels = m * 4 + 4 + 16;  // one level's links + allocator overhead: an upper bound per vector
  return point + level0_links + label + level + link_list_pointer + lock + label_map_entry + upper_levels;
}

KnowledgeBaseHost::KnowledgeBaseHost(const ServerOptions& options, service::EmbeddingService& service,
                                     service::EmbeddingService* reranker)
    : options_(options), service_(service) {
  kb::KnowledgeBaseOptions kb_options;
  // A file the upload route accepted must not fail extraction for its size.
  kb_options.limits.max_input_bytes = std::max<int64_t>(kb_options.limits.max_input_bytes, options.max_upload_bytes);
  kb_ = kb::open_knowledge_base(options.kb_path, &service, kb_options, reranker);
  if (kb::is_database_url(options.kb_path)) {
    // A PostgreSQL knowledge base has no folder of its own: uploads go to the temporary folder.
    upload_dir_ = fs::temp_directory_path().string();
    upload_prefix_ = "qembed-kb-pg.upload-";
    upload_prefix_ += std::to_string(getpid());
    upload_prefix_ += '-';
  } else {
    const fs::path db = fs::absolute(options.kb_path);
    upload_dir_ = db.parent_path().string();
    upload_prefix_ = db.filename().string() + ".upload-";
  }
  // Uploads' temporary files are unlinked right after they are created; one can only be left by a process killed
  // in between.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(upload_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(upload_prefix_, 0) == 0) fs::remove(entry.path(), ec);
  }
  index_open_delay_ms_ = env_int("QEMBED_KB_INDEX_OPEN_DELAY_MS");
}

KnowledgeBaseHost::~KnowledgeBaseHost() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A running reindex stops at its next group (its progress callback sees stopping_) and changes nothing.
  if (reindex_thread_.joinable()) reindex_thread_.join();
  kb_.reset();
}

namespace {
int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool KnowledgeBaseHost::start_reindex(const kb::Collection& collection, int32_t dimensions) {
  std::lock_guard lock(mu_);
  if (reindex_running_ || stopping_) return false;
  reindex_running_ = true;
  ReindexStatus& status = reindexes_[collection.settings.name];
  status = ReindexStatus{"running", 0, 0, "", wall_ms(), 0};
  if (reindex_thread_.joinable()) reindex_thread_.join();  // the previous one has finished
  reindex_thread_ = std::thread([this, collection, dimensions] {
    const std::string& name = collection.settings.name;
    std::string error;
    try {
      kb_->reindex(collection, dimensions, [&](int64_t done, int64_t total) {
        std::lock_guard inner(mu_);
        if (stopping_) throw Error("the server is stopping");
        reindexes_[name].done = done;
        reindexes_[name].total = total;
      });
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard inner(mu_);
      ReindexStatus& s = reindexes_[name];
      s.state = error.empty() ? "done" : "failed";
      s.error = error;
      s.finished_ms = wall_ms();
      reindex_running_ = false;
    }
    if (error.empty()) {
      log::info("knowledge base: collection '" + name + "' re-embedded with the loaded model");
    } else {
      log::warn("knowledge base: reindex of collection '" + name + "' failed (nothing changed): " + error);
    }
    note_change();
  });
  return true;
}

std::optional<KnowledgeBaseHost::ReindexStatus> KnowledgeBaseHost::reindex_status(
    const std::string& collection_name) const {
  std::lock_guard lock(mu_);
  auto it = reindexes_.find(collection_name);
  if (it == reindexes_.end()) return std::nullopt;
  return it->second;
}

void KnowledgeBaseHost::start() {
  const kb::ModelIdentity model = kb::model_identity_of(service_);
  for (const kb::Collection& c : kb_->store().list_collections()) {
    collection_names_.insert(c.settings.name);
    try {
      kb::check_collection_model(c, model);
      to_open_.insert(c.id);
    } catch (const Error& e) {
      log::warn(std::string("knowledge base: ") + e.what());
    }
  }
  if (std::optional<int64_t> job = kb_->resume_pending()) {
    log::info("knowledge base: resuming the pending documents left by the previous run (job " + std::to_string(*job) +
              ")");
  }
  thread_ = std::thread([this] { run(); });
}

std::optional<std::string> KnowledgeBaseHost::not_ready_reason() const {
  std::lock_guard lock(mu_);
  if (indexes_open_) return std::nullopt;
  if (!opening_name_.empty()) return "knowledge base: opening the vector index of collection '" + opening_name_ + "'";
  return "knowledge base: opening the vector indexes";
}

bool KnowledgeBaseHost::index_opening(int64_t collection_id) const {
  std::lock_guard lock(mu_);
  return to_open_.count(collection_id) > 0;
}

KbGauges KnowledgeBaseHost::gauges() const {
  KbGauges g;
  {
    std::lock_guard lock(mu_);
    g = gauges_;
  }
  // The ingestion counters live in memory: read them now.
  const kb::IngestionStats s = kb_->ingestion().stats();
  g.jobs_queued = s.jobs_queued;
  g.jobs_running = s.jobs_running;
  g.ingested_tokens_total = s.tokens_total;
  g.ingestion_busy_seconds_total = s.busy_seconds_total;
  return g;
}

void KnowledgeBaseHost::note_change() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  cv_.notify_all();
}

void KnowledgeBaseHost::note_collection(const std::string& name, bool exists) {
  {
    std::lock_guard lock(mu_);
    if (exists) {
      collection_names_.insert(name);
    } else {
      collection_names_.erase(name);
    }
  }
  note_change();
}

bool KnowledgeBaseHost::collection_known(const std::string& name) const {
  std::lock_guard lock(mu_);
  return collection_names_.count(name) > 0;
}

bool KnowledgeBaseHost::try_begin_upload() {
  if (uploads_in_progress_.fetch_add(1) >= options_.max_uploads_at_once) {
    uploads_in_progress_.fetch_sub(1);
    return false;
  }
  return true;
}

void KnowledgeBaseHost::end_upload() { uploads_in_progress_.fetch_sub(1); }

void KnowledgeBaseHost::run() {
  open_indexes();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    changed_ = false;
    lock.unlock();
    refresh_gauges();
    lock.lock();
    cv_.wait_for(lock, kGaugeRefreshPeriod, [this] { return stopping_ || changed_; });
  }
}

void KnowledgeBaseHost::open_indexes() {
  for (;;) {
    kb::Collection collection;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (to_open_.empty()) break;
      std::optional<kb::Collection> found;
      const int64_t id = *to_open_.begin();
      for (const kb::Collection& c : kb_->store().list_collections()) {
        if (c.id == id) found = c;
      }
      if (!found) {  // deleted meanwhile
        to_open_.erase(id);
        continue;
      }
      collection = *found;
      opening_name_ = collection.settings.name;
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (index_open_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(index_open_delay_ms_));
    try {
      kb::IndexOpenReport report;
      const std::shared_ptr<kb::VectorIndex> index = kb_->searcher().index(collection, &report);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      log::info("knowledge base: collection '" + collection.settings.name + "': " + std::to_string(index->size()) +
                " vectors indexed in " + std::to_string(static_cast<int64_t>(ms)) + " ms" +
                (report.reason.empty() ? "" : " (" + report.reason + ")"));
    } catch (const std::exception& e) {
      // Its searches will try again (and answer the error); the rest of the knowledge base serves meanwhile.
      log::error("knowledge base: cannot open the vector index of collection '" + collection.settings.name +
                 "': " + e.what());
    }
    std::lock_guard lock(mu_);
    to_open_.erase(collection.id);
    opening_name_.clear();
  }
  std::lock_guard lock(mu_);
  indexes_open_ = true;
}

void KnowledgeBaseHost::refresh_gauges() {
  KbGauges g;
  std::set<std::string> names;
  try {
    for (const kb::Collection& c : kb_->store().list_collections()) {
      names.insert(c.settings.name);
      KbGauges::Collection row;
      row.name = c.settings.name;
      const kb::DocumentCounts counts = kb_->store().document_counts(c.id);
      row.pending = counts.pending;
      row.indexed = counts.indexed;
      row.failed = counts.failed;
      if (kb_->searcher().index_ready(c.id)) row.chunks = static_cast<int64_t>(kb_->searcher().index(c)->size());
      g.collections.push_back(std::move(row));
    }
  } catch (const std::exception& e) {
    log::warn(std::string("knowledge base: cannot read its counts for /metrics: ") + e.what());
    return;  // keep the last ones
  }
  std::lock_guard lock(mu_);
  gauges_ = std::move(g);
  collection_names_ = std::move(names);
}

KbMemoryEstimate KnowledgeBaseHost::memory_estimate() const {
  KbMemoryEstimate m;
  const kb::KnowledgeBaseOptions& o = kb_->options();
  // A collection created later has the model's dimensions by default: at least that much per vector.
  m.bytes_per_vector =
      vector_index_bytes_per_vector(kb::model_identity_of(service_).dimensions, kb::VectorType::kF32, o.index.hnsw_m);
  for (const kb::Collection& c : kb_->store().list_collections()) {
    m.bytes_per_vector =
        std::max(m.bytes_per_vector,
                 vector_index_bytes_per_vector(c.settings.dimensions, c.settings.vector_type, o.index.hnsw_m));
  }
  m.vectors = kb_->store().counts().vectors;
  m.index_bytes = m.vectors * m.bytes_per_vector;
  const int64_t file_bytes =
      std::min<int64_t>(options_.max_upload_bytes, static_cast<int64_t>(o.limits.max_input_bytes));
  // Uploads are registered on the tokenization workers, one file at a time each (its bytes and the store's copy);
  // the pipeline prepares about two documents at once (a file and its extracted text each).
  const int64_t registering =
      std::min<int64_t>(options_.max_uploads_at_once, std::max(1, options_.tokenization_workers));
  m.ingestion_bytes = registering * 2 * file_bytes + 2 * (file_bytes + static_cast<int64_t>(o.limits.max_text_bytes));
  return m;
}

}  // namespace qembed::server
