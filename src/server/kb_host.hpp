#pragma once
// The knowledge base as `qembed serve --kb PATH` runs it: opened on the loaded model's service, pending documents
// resumed (a killed process left them pending), each collection's vector index opened on a background thread while
// /health says 503 with the reason, and the numbers /metrics and the start-up memory bound show. The REST API
// (server/api/kb_*.cpp) reaches the knowledge base through this host.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "kb/knowledge_base.hpp"
#include "server/metrics.hpp"
#include "server/server_options.hpp"

namespace qembed::service {
class EmbeddingService;
}

namespace qembed::server {

//! Memory the in-memory vector index holds per stored vector: the point (f32 rows for f32/f16 collections, int8
//! codes + a scale for int8) plus the HNSW graph's records (hnswlib: level-0 links 2M x 4 + 4 bytes, label,
//! level, link-list pointer, a lock, the label map, and upper-level links counted once in full).
int64_t vector_index_bytes_per_vector(int64_t dims, kb::VectorType type, size_t hnsw_m);

//! What the start-up memory bound adds for the knowledge base.
struct KbMemoryEstimate {
  int64_t vectors = 0;           //!< vectors stored in every collection at start-up
  int64_t bytes_per_vector = 0;  //!< the largest of vector_index_bytes_per_vector over the collections
  int64_t index_bytes = 0;       //!< vectors x bytes_per_vector
  //! Uploads being registered (one file's bytes at a time each, and the store's copy of them) and documents being
  //! prepared by the ingestion pipeline (a file and its extracted text).
  int64_t ingestion_bytes = 0;
  int64_t total() const { return index_bytes + ingestion_bytes; }
};

class KnowledgeBaseHost {
 public:
  //! Opens the knowledge base at options.kb_path on `service` (Error naming the file when it cannot), and removes
  //! temporary upload files a killed process left beside it. `reranker` (nullable, outliving the host): a service
  //! loaded as a Qwen3-Reranker, for searches that rerank.
  KnowledgeBaseHost(const ServerOptions& options, service::EmbeddingService& service,
                    service::EmbeddingService* reranker = nullptr);
  //! Stops the background thread, then closes the knowledge base (documents in flight stay pending).
  ~KnowledgeBaseHost();
  KnowledgeBaseHost(const KnowledgeBaseHost&) = delete;
  KnowledgeBaseHost& operator=(const KnowledgeBaseHost&) = delete;

  kb::KnowledgeBase& kb() { return *kb_; }
  const ServerOptions& options() const { return options_; }

  //! Queues the pending documents left by a previous process, then opens every collection's vector index on the
  //! background thread, which afterwards keeps the /metrics gauges fresh.
  void start();

  //! Why the knowledge base cannot serve every request yet ("knowledge base: opening the vector index of
  //! collection 'docs'"), or nullopt when it can.
  std::optional<std::string> not_ready_reason() const;
  //! Whether the background thread is opening (or has yet to open) this collection's index.
  bool index_opening(int64_t collection_id) const;

  //! The /metrics gauges (refreshed on the background thread; never touches the store on the caller's thread).
  KbGauges gauges() const;
  //! Documents or collections changed: refresh the gauges soon.
  void note_change();
  //! A collection was created or deleted (by this server's API: at once; by another process: seen at the next
  //! refresh).
  void note_collection(const std::string& name, bool exists);
  //! Whether a collection of that name exists, as last seen; for checks on an I/O thread, which must not wait for
  //! the store (an upload to an unknown collection is refused before its body is read).
  bool collection_known(const std::string& name) const;

  //! An upload begins being received; false when max_uploads_at_once are already (then answer 429).
  bool try_begin_upload();
  void end_upload();
  //! Where uploads' temporary files go (beside the database, same disk) and the prefix of their generated names.
  const std::string& upload_dir() const { return upload_dir_; }
  const std::string& upload_prefix() const { return upload_prefix_; }

  KbMemoryEstimate memory_estimate() const;

  //! A reindex (re-embedding a collection with the loaded model) started through the API, by collection name.
  struct ReindexStatus {
    std::string state;  //!< "running" | "done" | "failed"
    int64_t done = 0, total = 0;  //!< chunks
    std::string error;            //!< "failed": why (nothing was changed)
    int64_t started_ms = 0, finished_ms = 0;
  };
  //! Starts re-embedding `collection` with the loaded model (kb::KnowledgeBase::reindex, bulk priority) on a thread
  //! of its own; `dimensions` 0 keeps them. False when a reindex is already running (one at a time).
  bool start_reindex(const kb::Collection& collection, int32_t dimensions);
  std::optional<ReindexStatus> reindex_status(const std::string& collection_name) const;

 private:
  void run();
  void open_indexes();
  void refresh_gauges();

  const ServerOptions& options_;
  service::EmbeddingService& service_;
  std::unique_ptr<kb::KnowledgeBase> kb_;
  std::string upload_dir_, upload_prefix_;
  int64_t index_open_delay_ms_ = 0;  // QEMBED_KB_INDEX_OPEN_DELAY_MS: lets tests observe the 503 while opening
  std::atomic<int64_t> uploads_in_progress_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = true;
  bool indexes_open_ = false;
  std::set<int64_t> to_open_;  // collections whose index the background thread has yet to open
  std::string opening_name_;   // the one it is opening now
  KbGauges gauges_;
  std::set<std::string> collection_names_;
  std::thread thread_;
  std::map<std::string, ReindexStatus> reindexes_;
  bool reindex_running_ = false;
  std::thread reindex_thread_;
};

}  // namespace qembed::server
