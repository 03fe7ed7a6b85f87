#pragma once
// Background ingestion: uploads are registered at once (so a duplicate is answered immediately and the bytes are
// durable before the caller hears "accepted"), then each pending document goes through
//   extract -> chunk (the model's tokenizer) -> keyword analysis -> embed (bulk priority) -> commit
// in a pipeline: one thread prepares the next documents while the service computes, the service's callback hands
// finished vectors to a commit thread. At most max_inflight_tokens of chunks are submitted and not committed.
//
// Jobs group the documents of one call (a CLI `kb add`, one upload) for progress reports; they live in memory. The
// documents' states live in the store: a killed process leaves them pending, and resume_pending() queues them again.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kb/extract/extract.hpp"
#include "kb/store/store.hpp"

namespace qembed::service {
class EmbeddingService;
}

namespace qembed::kb {

//! What happened to one uploaded file, as the CLI's JSON lines and the API report it.
enum class IngestStatus {
  kPending,    //!< accepted; not finished yet
  kIndexed,    //!< new content, now searchable
  kDuplicate,  //!< the same name already had this content: nothing done
  kReplaced,   //!< new content for an existing name: the old version was swapped out atomically
  kFailed,     //!< not ingested; `error` says why
};
const char* ingest_status_name(IngestStatus status);  //!< "pending", "indexed", "duplicate", "replaced", "failed"

//! One file to ingest.
struct IngestItem {
  std::string name;                  //!< the document name (unique in the collection)
  std::string bytes;                 //!< the file's bytes
  std::string metadata_json = "{}";  //!< user metadata, a JSON object
  //! When set, `bytes` is empty and submit() reads the bytes through this, one item at a time, releasing them once
  //! the item is registered: an upload of many large files (kept on disk by the server) never holds them all in
  //! memory. An exception it throws fails that item alone (its message is the outcome's error).
  std::function<std::string()> read_bytes;
  //! The format (one of kb/extract's kFormat* names: "pdf", "docx", "html", "markdown", "text"); "" detects it
  //! from the name and the bytes. For names that are ids, not file names (an eval corpus, JSON uploads).
  std::string format;
};

struct IngestOutcome {
  size_t index = 0;  //!< position of the item in its job
  std::string name;
  int64_t document_id = 0;  //!< 0 when the file was refused before it was recorded
  IngestStatus status = IngestStatus::kPending;
  int32_t chunks = 0;
  int64_t tokens = 0;  //!< tokens embedded for it (0 for duplicates and shared content)
  std::string error;   //!< kFailed: why
  //! kFailed because the database was unreachable when the file was to be recorded: nothing of it was kept, and
  //! the same upload may succeed later (the HTTP API answers 503 when every file of an upload failed so).
  bool unavailable = false;
  //! While pending, where it is: "queued", "extracting", "chunking", "embedding" (`embedded` of `chunks` done),
  //! "committing"; empty once final.
  std::string phase;
  int32_t embedded = 0;
};

struct JobProgress {
  int64_t id = 0;
  int64_t collection_id = 0;
  std::string state;  //!< "queued" | "running" | "done"
  int64_t total = 0, finished = 0, indexed = 0, duplicates = 0, replaced = 0, failed = 0;
  int64_t tokens = 0;
  int64_t created_ms = 0, finished_ms = 0;  //!< Unix ms; finished_ms 0 while not done
  std::vector<IngestOutcome> outcomes;      //!< by item index
  int64_t delivered = 0;                    //!< outcomes whose callback has returned (done when == total)
};

//! Counters for /metrics.
struct IngestionStats {
  int64_t documents_queued = 0;   //!< waiting to be prepared
  int64_t documents_running = 0;  //!< being prepared, embedded or committed
  int64_t jobs_queued = 0, jobs_running = 0;
  int64_t documents_indexed_total = 0, documents_failed_total = 0;
  int64_t tokens_total = 0;           //!< tokens embedded by ingestion
  double busy_seconds_total = 0;      //!< time with at least one document in the pipeline
};

using OutcomeFn = std::function<void(const IngestOutcome&)>;

class Ingestion {
 public:
  //! `service` may be null (store-only use): submit() then throws.
  Ingestion(Store& store, service::EmbeddingService* service, const ExtractLimits& limits,
            int64_t max_inflight_tokens);
  //! Stops the pipeline: documents not committed stay pending in the store.
  ~Ingestion();

  //! Registers every item (sha256, format check, store registration) and queues the new ones. Returns the job id.
  //! `on_outcome` is called once per item when it is final (possibly before submit returns, for duplicates and
  //! refused files), from any thread. Throws only for a collection that does not exist.
  int64_t submit(const Collection& collection, std::vector<IngestItem> items, OutcomeFn on_outcome = {});
  //! Queues pending documents of the collection (resumed after a restart) as one job; nullopt when none.
  std::optional<int64_t> resume(const Collection& collection);

  std::optional<JobProgress> job(int64_t job_id) const;
  //! Most recent first, at most `limit`.
  std::vector<JobProgress> jobs(size_t limit = 100) const;
  //! Blocks until the job is done (or the pipeline stops).
  void wait(int64_t job_id);
  IngestionStats stats() const;

 private:
  struct Job;
  struct Task;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qembed::kb
