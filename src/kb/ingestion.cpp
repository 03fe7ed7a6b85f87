#include "kb/ingestion.hpp"

#include <algorithm>
#include <chrono>
#include <span>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kb/content_hash.hpp"
#include "kb/document_prep.hpp"
#include "service/embedding_service.hpp"

namespace qembed::kb {

const char* ingest_status_name(IngestStatus status) {
  switch (status) {
    case IngestStatus::kPending: return "pending";
    case IngestStatus::kIndexed: return "indexed";
    case IngestStatus::kDuplicate: return "duplicate";
    case IngestStatus::kReplaced: return "replaced";
    case IngestStatus::kFailed: return "failed";
  }
  return "failed";
}

namespace {

//! A failure the same call may get past later: the database unreachable or restarting, or busy.
bool retryable(const Error& e) { return e.kind() == ErrorKind::kUnavailable || e.kind() == ErrorKind::kLimit; }

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

//! The tokenizer the chunker needs: each token's byte span in the text, as the model sees a document (no prompt,
//! no EOS). A configured "document" prompt is skipped over: offsets are into the document's own text.
TokenizeFn model_tokenizer(const service::EmbeddingService& svc) {
  return [&svc](std::string_view text) {
    service::EmbedParams params;
    params.prompt_name = "document";
    std::vector<service::TokenizedInput> tokenized = svc.tokenize({std::string(text)}, params, false);
    TokenSpans spans;
    if (tokenized.empty()) return spans;
    const size_t prompt_bytes = tokenized[0].text.size() - text.size();
    spans.reserve(tokenized[0].pieces.size());
    for (const service::TokenPiece& p : tokenized[0].pieces) {
      if (p.start < prompt_bytes) continue;
      spans.emplace_back(p.start - prompt_bytes, p.stop - prompt_bytes);
    }
    return spans;
  };
}

}  // namespace

struct Ingestion::Job {
  JobProgress progress;
  OutcomeFn on_outcome;
};

//! One pending document on its way through the pipeline.
struct Ingestion::Task {
  int64_t job_id = 0;
  size_t index = 0;
  int64_t document_id = 0;
  Collection collection;
  std::string name;
  std::string sha256;
  std::string format;      //!< as registered
  bool replacing = false;  //!< the name had an indexed version with other content
};

namespace {

//! A document whose chunks are with the service: the vectors of each group land here, and the last one to finish
//! hands the document to the commit thread.
struct InFlight {
  std::mutex mutex;
  PreparedDocument prepared;
  size_t groups_left = 0;
  std::string error;
  int64_t tokens = 0;
};

}  // namespace

struct Ingestion::Impl {
  Impl(Store& s, service::EmbeddingService* svc, const ExtractLimits& l, int64_t inflight)
      : store(s), service(svc), limits(l), max_inflight_tokens(inflight) {}

  Store& store;
  service::EmbeddingService* service;
  ExtractLimits limits;
  int64_t max_inflight_tokens;

  mutable std::mutex mutex;
  std::condition_variable changed;  // queue, in-flight tokens, commit queue, jobs: any change
  std::deque<Task> queue;
  std::deque<std::pair<Task, std::shared_ptr<InFlight>>> commits;
  std::map<int64_t, Job> jobs;
  int64_t next_job_id = 1;
  int64_t inflight_tokens = 0;
  int64_t inflight_documents = 0;  // prepared and not committed
  int64_t preparing = 0;
  int64_t submitted_requests = 0;  // service requests whose callback has not run
  bool stopping = false;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  IngestionStats counters;
  std::chrono::steady_clock::time_point busy_since{};
  std::thread prepare_thread, commit_thread;

  //! Runs `fn`, again while it fails with kUnavailable or kLimit (the database restarting, or busy), backing off
  //! 100 ms doubling to 2 s for at most ~60 s or until stopping; then the last error is thrown. A document
  //! acknowledged to its uploader is thus committed once the database is back, not left pending until a restart.
  template <typename Fn>
  auto retry_while_unavailable(Fn&& fn) -> decltype(fn()) {
    auto delay = std::chrono::milliseconds(100);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      try {
        return fn();
      } catch (const Error& e) {
        if (!retryable(e) || std::chrono::steady_clock::now() + delay > give_up) throw;
        std::unique_lock lock(mutex);
        if (changed.wait_for(lock, delay, [&] { return stopping; })) throw;
      }
      delay = std::min(delay * 2, std::chrono::milliseconds(2000));
    }
  }

  //! Makes an outcome final: job counters, the caller's callback (outside the lock).
  void finish(int64_t job_id, const IngestOutcome& outcome) {
    OutcomeFn callback;
    {
      std::lock_guard lock(mutex);
      auto it = jobs.find(job_id);
      if (it == jobs.end()) return;
      JobProgress& p = it->second.progress;
      p.outcomes[outcome.index] = outcome;
      ++p.finished;
      p.tokens += outcome.tokens;
      switch (outcome.status) {
        case IngestStatus::kIndexed: ++p.indexed; break;
        case IngestStatus::kDuplicate: ++p.duplicates; break;
        case IngestStatus::kReplaced: ++p.replaced; break;
        case IngestStatus::kFailed: ++p.failed; break;
        case IngestStatus::kPending: break;
      }
      if (outcome.status == IngestStatus::kIndexed || outcome.status == IngestStatus::kReplaced) {
        if (outcome.tokens > 0) ++counters.documents_indexed_total;
      } else if (outcome.status == IngestStatus::kFailed) {
        ++counters.documents_failed_total;
      }
      counters.tokens_total += outcome.tokens;
      callback = it->second.on_outcome;
    }
    // The callback runs before the job can read "done": wait() returning means every outcome was delivered.
    if (callback) callback(outcome);
    {
      std::lock_guard lock(mutex);
      auto it = jobs.find(job_id);
      if (it != jobs.end()) {
        JobProgress& p = it->second.progress;
        if (++p.delivered == p.total) {
          p.state = "done";
          p.finished_ms = unix_ms();
        }
      }
    }
    changed.notify_all();
  }

  //! Where a pending document is, for progress reports (JobProgress::outcomes[i].phase).
  void set_phase(int64_t job_id, size_t index, const char* phase, int32_t chunks = -1, int32_t embedded_delta = 0) {
    std::lock_guard lock(mutex);
    auto it = jobs.find(job_id);
    if (it == jobs.end() || index >= it->second.progress.outcomes.size()) return;
    IngestOutcome& o = it->second.progress.outcomes[index];
    if (o.status != IngestStatus::kPending) return;
    if (phase) o.phase = phase;
    if (chunks >= 0) o.chunks = chunks;
    o.embedded += embedded_delta;
  }

  void mark_busy_locked() {
    if (inflight_documents + preparing + static_cast<int64_t>(queue.size()) == 0) return;
    if (busy_since == std::chrono::steady_clock::time_point{}) busy_since = std::chrono::steady_clock::now();
  }
  void mark_idle_if_done_locked() {
    if (inflight_documents + preparing + static_cast<int64_t>(queue.size()) != 0) return;
    if (busy_since != std::chrono::steady_clock::time_point{}) {
      counters.busy_seconds_total +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - busy_since).count();
      busy_since = {};
    }
  }

  void prepare_loop();
  void commit_loop();
  //! Extracts, chunks and submits one document; false when it failed before reaching the service.
  void prepare_one(const Task& task);
  //! Submits one group of chunks, retrying while the service is busy with other work. False when stopping.
  bool submit_group(service::EncodedRequest request, service::EmbedDone done);
};

void Ingestion::Impl::prepare_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      task = std::move(queue.front());
      queue.pop_front();
      ++preparing;
      auto it = jobs.find(task.job_id);
      if (it != jobs.end() && it->second.progress.state == "queued") it->second.progress.state = "running";
    }
    prepare_one(task);
    {
      std::lock_guard lock(mutex);
      --preparing;
      mark_idle_if_done_locked();
    }
    changed.notify_all();
  }
}

void Ingestion::Impl::prepare_one(const Task& task) {
  IngestOutcome outcome;
  outcome.index = task.index;
  outcome.name = task.name;
  outcome.document_id = task.document_id;
  auto fail = [&](const std::string& why) {
    try {
      store.fail_document(task.document_id, why);
    } catch (const Error& e) {
      // Superseded or deleted meanwhile: the document is not pending any more; report what happened to it.
      log::warn("kb: document " + std::to_string(task.document_id) + " ('" + task.name + "'): " + e.what());
    }
    outcome.status = IngestStatus::kFailed;
    outcome.error = why;
    finish(task.job_id, outcome);
  };
  std::optional<std::string> source;
  try {
    source = retry_while_unavailable([&] { return store.pending_source(task.document_id); });
  } catch (const Error& e) {
    return fail(e.what());
  }
  if (!source) {
    // Not pending any more: a newer upload of the name superseded it, or it was deleted.
    outcome.status = IngestStatus::kFailed;
    outcome.error = "superseded by a newer upload of the same name, or deleted, before it was ingested";
    finish(task.job_id, outcome);
    return;
  }
  auto inflight = std::make_shared<InFlight>();
  try {
    const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(source->data()), source->size());
    // The format found (or given) at registration, so a resumed document is read the same way.
    set_phase(task.job_id, task.index, "extracting");
    ExtractedDocument extracted = task.format.empty() ? extract_document(bytes, task.name, limits)
                                                      : extract_document_as(task.format, bytes, task.name, limits);
    set_phase(task.job_id, task.index, "chunking");
    source.reset();
    inflight->prepared = prepare_document(std::move(extracted), task.sha256, model_tokenizer(*service),
                                          task.collection.settings);
  } catch (const Error& e) {
    return fail(e.what());
  } catch (const std::bad_alloc&) {
    return fail(task.name + ": out of memory while extracting");
  }
  PreparedDocument& prepared = inflight->prepared;
  set_phase(task.job_id, task.index, "embedding", static_cast<int32_t>(prepared.embed_texts.size()));
  const int64_t tokens = std::max<int64_t>(prepared.tokens, 1);
  inflight->tokens = prepared.tokens;
  {
    // Back-pressure: wait until the chunks in flight leave room (one document always goes, however large).
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return stopping || inflight_tokens == 0 || inflight_tokens + tokens <= max_inflight_tokens; });
    if (stopping) return;  // stays pending
    inflight_tokens += tokens;
    ++inflight_documents;
  }
  if (prepared.embed_texts.empty()) {
    std::lock_guard lock(mutex);
    commits.emplace_back(task, inflight);
    changed.notify_all();
    return;
  }
  // Groups of at most one batch of tokens each, so no request is too large for the queue and API requests can be
  // admitted between them.
  const int64_t group_tokens = std::max<int64_t>(service->options().max_batch_tokens / 2, 1024);
  std::vector<std::pair<size_t, size_t>> groups;  // [first, last) chunk
  {
    size_t first = 0;
    int64_t sum = 0;
    for (size_t i = 0; i < prepared.embed_texts.size(); ++i) {
      const int64_t t = prepared.content.chunks[i].n_tokens + 16;
      if (i > first && sum + t > group_tokens) {
        groups.emplace_back(first, i);
        first = i;
        sum = 0;
      }
      sum += t;
    }
    groups.emplace_back(first, prepared.embed_texts.size());
  }
  const size_t dims = static_cast<size_t>(task.collection.settings.dimensions);
  prepared.content.vectors.assign(prepared.embed_texts.size() * dims, 0.0f);
  inflight->groups_left = groups.size();

  auto group_done = [this, task, inflight](size_t first, service::EmbedResult result, const Error* error) {
    bool last = false;
    {
      std::lock_guard lock(inflight->mutex);
      if (error) {
        if (inflight->error.empty()) inflight->error = error->what();
      } else {
        const size_t dims = static_cast<size_t>(task.collection.settings.dimensions);
        for (size_t i = 0; i < result.vectors.size(); ++i) {
          if (result.vectors[i].size() != dims) {
            inflight->error = "the service returned " + std::to_string(result.vectors[i].size()) +
                              " dimensions, the collection stores " + std::to_string(dims);
            break;
          }
          std::copy(result.vectors[i].begin(), result.vectors[i].end(),
                    inflight->prepared.content.vectors.begin() + static_cast<std::ptrdiff_t>((first + i) * dims));
        }
      }
      last = --inflight->groups_left == 0;
    }
    if (!error) set_phase(task.job_id, task.index, nullptr, -1, static_cast<int32_t>(result.vectors.size()));
    std::lock_guard lock(mutex);
    --submitted_requests;
    if (last) commits.emplace_back(task, inflight);
    changed.notify_all();
  };

  service::EmbedParams params;
  params.prompt_name = "document";
  params.truncate = true;  // a chunk is within chunk_tokens; its title prefix may not be, and must not fail it
  params.dimensions = static_cast<int64_t>(dims) == service->model_info().n_embd ? 0 : static_cast<int64_t>(dims);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto [first, last] = groups[g];
    service::EmbedInputs inputs;
    inputs.texts.assign(prepared.embed_texts.begin() + static_cast<std::ptrdiff_t>(first),
                        prepared.embed_texts.begin() + static_cast<std::ptrdiff_t>(last));
    inputs.first_index = static_cast<int64_t>(first);
    service::EncodedRequest request;
    try {
      request = service->encode(inputs, params);
    } catch (const Error& e) {
      request = {};
      std::lock_guard lock(inflight->mutex);
      if (inflight->error.empty()) inflight->error = task.name + ": " + e.what();
    }
    if (request.seqs.empty()) {
      // Count the group as finished without a request.
      Error skipped("not embedded");
      {
        std::lock_guard lock(mutex);
        ++submitted_requests;
      }
      group_done(first, {}, &skipped);
      continue;
    }
    request.priority = service::Priority::kBulk;
    {
      std::lock_guard lock(mutex);
      ++submitted_requests;
    }
    const bool queued = submit_group(std::move(request), [group_done, first = first](service::EmbedResult r,
                                                                                      const Error* e) {
      group_done(first, std::move(r), e);
    });
    if (!queued) {
      Error stopped("ingestion stopped");
      group_done(first, {}, &stopped);
    }
  }
}

bool Ingestion::Impl::submit_group(service::EncodedRequest request, service::EmbedDone done) {
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return false;
    }
    service::EncodedRequest copy = request;  // submit consumes it; a busy answer needs it again
    const service::Admission admission = service->submit(std::move(copy), done, cancel);
    if (admission == service::Admission::kQueued) return true;
    if (admission == service::Admission::kStopping) return false;
    if (admission == service::Admission::kTooLarge) {
      // A group is at most half a batch: only a service configured with a tiny queue gets here.
      Error too_large("a group of chunks is larger than the service's whole queue (raise --max-queue-tokens)");
      done({}, &too_large);
      return true;
    }
    // Busy with API traffic: ingestion is the one that waits.
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping; });
  }
}

void Ingestion::Impl::commit_loop() {
  for (;;) {
    std::pair<Task, std::shared_ptr<InFlight>> item;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return !commits.empty() || (stopping && submitted_requests == 0); });
      if (commits.empty()) return;
      item = std::move(commits.front());
      commits.pop_front();
    }
    const Task& task = item.first;
    InFlight& doc = *item.second;
    IngestOutcome outcome;
    outcome.index = task.index;
    outcome.name = task.name;
    outcome.document_id = task.document_id;
    bool stopped = false;
    {
      std::lock_guard lock(mutex);
      stopped = stopping;
    }
    if (stopped && !doc.error.empty()) {
      // Cancelled by the stop: the document stays pending and resumes on the next start.
    } else if (!doc.error.empty()) {
      try {
        store.fail_document(task.document_id, doc.error);
      } catch (const Error& e) {
        log::warn(std::string("kb: ") + e.what());
      }
      outcome.status = IngestStatus::kFailed;
      outcome.error = doc.error;
      finish(task.job_id, outcome);
    } else {
      set_phase(task.job_id, task.index, "committing");
      try {
        bool tried = false;
        const Document committed = retry_while_unavailable([&] {
          if (tried) {
            // The last try lost its connection, possibly during COMMIT, so it may have landed: then this document
            // is indexed with this content, and a second commit would wrongly report it failed ("not pending").
            std::optional<Document> now = store.get_document(task.document_id);
            if (now && now->status == DocumentStatus::kIndexed && now->sha256 == task.sha256) return *now;
          }
          tried = true;
          return store.commit_document(task.document_id, doc.prepared.content);
        });
        outcome.status = task.replacing ? IngestStatus::kReplaced : IngestStatus::kIndexed;
        outcome.chunks = committed.chunk_count;
        outcome.tokens = doc.tokens;
      } catch (const Error& e) {
        outcome.status = IngestStatus::kFailed;
        outcome.error = e.what();
        if (!retryable(e)) {
          try {
            store.fail_document(task.document_id, e.what());
          } catch (const Error&) {
            // superseded: not pending any more
          }
        } else {
          outcome.error += " (the document stays pending and is resumed on the next start)";
        }
      }
      finish(task.job_id, outcome);
    }
    {
      std::lock_guard lock(mutex);
      inflight_tokens -= std::max<int64_t>(doc.tokens, 1);
      --inflight_documents;
      mark_idle_if_done_locked();
    }
    item.second.reset();
    changed.notify_all();
  }
}

Ingestion::Ingestion(Store& store, service::EmbeddingService* service, const ExtractLimits& limits,
                     int64_t max_inflight_tokens)
    : impl_(std::make_unique<Impl>(store, service, limits, max_inflight_tokens)) {
  if (!service) return;
  if (impl_->max_inflight_tokens <= 0) impl_->max_inflight_tokens = 4 * service->options().max_batch_tokens;
  impl_->prepare_thread = std::thread([this] { impl_->prepare_loop(); });
  impl_->commit_thread = std::thread([this] { impl_->commit_loop(); });
}

Ingestion::~Ingestion() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  // Requests already with the service end at their next batch boundary; their callbacks must run before this
  // object goes (the commit thread waits for them).
  impl_->cancel->store(true);
  impl_->changed.notify_all();
  if (impl_->prepare_thread.joinable()) impl_->prepare_thread.join();
  // No request is submitted any more; the service still calls back for those it holds (at their next batch
  // boundary, cancelled), and those callbacks use this object: wait for the last one.
  {
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait(lock, [&] { return impl_->submitted_requests == 0; });
  }
  impl_->changed.notify_all();
  if (impl_->commit_thread.joinable()) impl_->commit_thread.join();
}

int64_t Ingestion::submit(const Collection& collection, std::vector<IngestItem> items, OutcomeFn on_outcome) {
  if (!impl_->service) throw Error("ingestion needs a model (this knowledge base was opened without one)");
  int64_t job_id;
  {
    std::lock_guard lock(impl_->mutex);
    job_id = impl_->next_job_id++;
    Job& job = impl_->jobs[job_id];
    job.progress.id = job_id;
    job.progress.collection_id = collection.id;
    job.progress.state = items.empty() ? "done" : "queued";
    job.progress.total = static_cast<int64_t>(items.size());
    job.progress.created_ms = unix_ms();
    if (items.empty()) job.progress.finished_ms = job.progress.created_ms;
    job.progress.outcomes.resize(items.size());
    job.on_outcome = std::move(on_outcome);
    for (size_t i = 0; i < items.size(); ++i) {
      job.progress.outcomes[i].index = i;
      job.progress.outcomes[i].name = items[i].name;
    }
    // Keep the last 1000 jobs: a long-running server must not grow without bound.
    while (impl_->jobs.size() > 1000 && impl_->jobs.begin()->second.progress.state == "done") {
      impl_->jobs.erase(impl_->jobs.begin());
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    IngestItem& item = items[i];
    IngestOutcome outcome;
    outcome.index = i;
    outcome.name = item.name;
    try {
      if (item.read_bytes) {
        // The bytes of this item only, released once it is registered (draft.source below): a caller with many
        // large files on disk never has them all in memory.
        try {
          item.bytes = item.read_bytes();
        } catch (const Error&) {
          throw;
        } catch (const std::exception& e) {
          throw IoError(item.name + ": " + e.what());
        }
        item.read_bytes = nullptr;
      }
      DocumentDraft draft;
      draft.name = item.name;
      draft.sha256 = sha256_hex(item.bytes);
      draft.size_bytes = static_cast<int64_t>(item.bytes.size());
      draft.metadata_json = item.metadata_json.empty() ? "{}" : item.metadata_json;
      std::string format_error;
      try {
        if (item.bytes.empty()) throw Error(item.name + ": the file is empty");
        if (static_cast<int64_t>(item.bytes.size()) > impl_->limits.max_input_bytes) {
          throw LimitError(item.name + ": the file is " + std::to_string(item.bytes.size()) +
                           " bytes, above the limit of " + std::to_string(impl_->limits.max_input_bytes >> 20) +
                           " MiB");
        }
        if (item.format.empty()) {
          draft.format = detect_format(
              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(item.bytes.data()), item.bytes.size()),
              item.name);
        } else if (item.format == kFormatPdf || item.format == kFormatDocx || item.format == kFormatHtml ||
                   item.format == kFormatMarkdown || item.format == kFormatText) {
          draft.format = item.format;
        } else {
          throw Error(item.name + ": unknown format \"" + item.format + "\" (pdf, docx, html, markdown, text)");
        }
      } catch (const Error& e) {
        format_error = e.what();
        draft.format = "unknown";
        std::string().swap(item.bytes);  // nothing to resume: its memory goes now, not with the whole batch
      }
      bool had_indexed_other = false;
      for (const Document& d : impl_->store.find_documents(collection.id, item.name)) {
        if (d.status == DocumentStatus::kIndexed && d.sha256 != draft.sha256) had_indexed_other = true;
      }
      if (!format_error.empty()) {
        // Recorded as failed, so listings show the file and why; its old version (if any) stays.
        draft.source.clear();
        const Registration reg = impl_->store.register_document(collection.id, draft);
        outcome.document_id = reg.document.id;
        if (reg.document.status == DocumentStatus::kPending) impl_->store.fail_document(reg.document.id, format_error);
        outcome.status = IngestStatus::kFailed;
        outcome.error = format_error;
        impl_->finish(job_id, outcome);
        continue;
      }
      draft.source = std::move(item.bytes);
      const Registration reg = impl_->store.register_document(collection.id, draft);
      outcome.document_id = reg.document.id;
      switch (reg.outcome) {
        case RegisterOutcome::kDuplicate:
          outcome.status = IngestStatus::kDuplicate;
          outcome.chunks = reg.document.chunk_count;
          // (When that version is still pending, it finishes in the job that queued it.)
          impl_->finish(job_id, outcome);
          break;
        case RegisterOutcome::kSharedContent:
          outcome.status = had_indexed_other ? IngestStatus::kReplaced : IngestStatus::kIndexed;
          outcome.chunks = reg.document.chunk_count;
          impl_->finish(job_id, outcome);
          break;
        case RegisterOutcome::kCreated:
        case RegisterOutcome::kRetry: {
          Task task;
          task.job_id = job_id;
          task.index = i;
          task.document_id = reg.document.id;
          task.collection = collection;
          task.name = item.name;
          task.sha256 = draft.sha256;
          task.format = draft.format;
          task.replacing = had_indexed_other;
          {
            std::lock_guard lock(impl_->mutex);
            // Progress reports (an upload's 202) name the pending document before it is final.
            if (auto j = impl_->jobs.find(job_id); j != impl_->jobs.end() && i < j->second.progress.outcomes.size()) {
              j->second.progress.outcomes[i].document_id = reg.document.id;
              j->second.progress.outcomes[i].phase = "queued";
            }
            impl_->queue.push_back(std::move(task));
            impl_->mark_busy_locked();
          }
          impl_->changed.notify_all();
          break;
        }
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kInvalidInput && !impl_->store.find_collection(collection.settings.name)) throw;
      outcome.status = IngestStatus::kFailed;
      outcome.error = e.what();
      // Not recorded (the database was unreachable): the uploader should send it again.
      outcome.unavailable = e.kind() == ErrorKind::kUnavailable;
      impl_->finish(job_id, outcome);
    }
  }
  return job_id;
}

std::optional<int64_t> Ingestion::resume(const Collection& collection) {
  if (!impl_->service) return std::nullopt;
  std::vector<Document> pending;
  for (int64_t after = 0;;) {
    std::vector<Document> page = impl_->store.list_documents(collection.id, DocumentStatus::kPending, after, 1000);
    if (page.empty()) break;
    after = page.back().id;
    pending.insert(pending.end(), page.begin(), page.end());
  }
  if (pending.empty()) return std::nullopt;
  std::lock_guard lock(impl_->mutex);
  const int64_t job_id = impl_->next_job_id++;
  Job& job = impl_->jobs[job_id];
  job.progress.id = job_id;
  job.progress.collection_id = collection.id;
  job.progress.state = "queued";
  job.progress.total = static_cast<int64_t>(pending.size());
  job.progress.created_ms = unix_ms();
  job.progress.outcomes.resize(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    job.progress.outcomes[i].index = i;
    job.progress.outcomes[i].name = pending[i].name;
    job.progress.outcomes[i].document_id = pending[i].id;
    job.progress.outcomes[i].phase = "queued";
    Task task;
    task.job_id = job_id;
    task.index = i;
    task.document_id = pending[i].id;
    task.collection = collection;
    task.name = pending[i].name;
    task.sha256 = pending[i].sha256;
    task.format = pending[i].format;
    // A pending version of a name with an indexed one replaces it.
    for (const Document& d : impl_->store.find_documents(collection.id, pending[i].name)) {
      if (d.status == DocumentStatus::kIndexed) task.replacing = true;
    }
    impl_->queue.push_back(std::move(task));
  }
  impl_->mark_busy_locked();
  impl_->changed.notify_all();
  return job_id;
}

std::optional<JobProgress> Ingestion::job(int64_t job_id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->jobs.find(job_id);
  if (it == impl_->jobs.end()) return std::nullopt;
  return it->second.progress;
}

std::vector<JobProgress> Ingestion::jobs(size_t limit) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<JobProgress> out;
  for (auto it = impl_->jobs.rbegin(); it != impl_->jobs.rend() && out.size() < limit; ++it) {
    out.push_back(it->second.progress);
  }
  return out;
}

void Ingestion::wait(int64_t job_id) {
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait(lock, [&] {
    if (impl_->stopping) return true;
    auto it = impl_->jobs.find(job_id);
    return it == impl_->jobs.end() || it->second.progress.state == "done";
  });
}

IngestionStats Ingestion::stats() const {
  std::lock_guard lock(impl_->mutex);
  IngestionStats s = impl_->counters;
  s.documents_queued = static_cast<int64_t>(impl_->queue.size());
  s.documents_running = impl_->preparing + impl_->inflight_documents;
  for (const auto& [id, job] : impl_->jobs) {
    if (job.progress.state == "queued") ++s.jobs_queued;
    if (job.progress.state == "running") ++s.jobs_running;
  }
  if (impl_->busy_since != std::chrono::steady_clock::time_point{}) {
    s.busy_seconds_total += std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->busy_since).count();
  }
  return s;
}

}  // namespace qembed::kb
