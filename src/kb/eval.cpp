#include "kb/eval.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "common/error.hpp"

namespace qembed::kb {

namespace {

// SearchRequest::top_k's upper bound.
constexpr int32_t kMaxTopK = 1000;
// Ingestion failures named in the report; the rest are only counted.
constexpr size_t kMaxFailuresNamed = 5;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

//! Progress counters fed by the outcome callbacks (any thread). The report's counts are read from each finished
//! job instead (the job's own tally, which also names the failures).
struct IngestProgress {
  std::mutex mutex;
  int64_t finished = 0, tokens = 0;
};

//! Adds a finished job's counts and first failures to `report`.
void add_job(IngestReport& report, const JobProgress& job) {
  report.indexed += job.indexed;
  report.duplicates += job.duplicates;
  report.replaced += job.replaced;
  report.failed += job.failed;
  report.tokens += job.tokens;
  for (const IngestOutcome& outcome : job.outcomes) {
    if (outcome.status == IngestStatus::kFailed && report.failures.size() < kMaxFailuresNamed) {
      report.failures.push_back(outcome.name + ": " + outcome.error);
    }
  }
}

//! The documents of one query's ranking in `mode`. Chunks are what the search returns, so a document with several
//! chunks near the top takes several places: more chunks are asked for until `wanted` documents come back or the
//! collection has no more.
std::vector<std::string> rank_documents(KnowledgeBase& kb, const Collection& collection, const std::string& query,
                                        SearchMode mode, const SharedContents& shared, size_t wanted) {
  int32_t top_k = static_cast<int32_t>(std::min<size_t>(wanted, kMaxTopK));
  for (;;) {
    SearchRequest request;
    request.query = query;
    request.mode = mode;
    request.top_k = top_k;
    // Retrieval is what is measured (kb eval loads no reranker): a collection's rerank default does not apply.
    request.rerank = false;
    const SearchResults results = kb.search(collection, request);
    std::vector<ScoredDocument> documents = documents_of_hits(results.hits, shared);
    const bool collection_exhausted = results.hits.size() < static_cast<size_t>(top_k);
    if (documents.size() >= wanted || collection_exhausted || top_k >= kMaxTopK) {
      return rank_like_trec_eval(std::move(documents));
    }
    top_k = std::min(kMaxTopK, top_k * 4);
  }
}

ModeReport evaluate_mode(KnowledgeBase& kb, const Collection& collection, const std::string& queries_path,
                         const EvalData& data, const std::vector<const BeirQuery*>& queries, SearchMode mode,
                         const SharedContents& shared, const EvalOptions& options, const EvalCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<RetrievalMetrics> per_query(queries.size());
  std::atomic<size_t> next_query{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;  // guards first_error, done and the progress callback
  std::exception_ptr first_error;
  int64_t done = 0;
  auto worker = [&] {
    for (;;) {
      const size_t i = next_query++;
      if (i >= queries.size() || stop) return;
      const BeirQuery& query = *queries[i];
      try {
        const std::vector<std::string> ranking =
            rank_documents(kb, collection, query.text, mode, shared, options.ranked_documents);
        per_query[i] = query_metrics(ranking, data.qrels.by_query.at(query.id));
      } catch (const Error& e) {
        std::lock_guard lock(mutex);
        if (!first_error) {
          first_error =
              std::make_exception_ptr(Error(queries_path + ":" + std::to_string(query.line) + ": query \"" + query.id +
                                                "\" (" + search_mode_name(mode) + " search): " + e.what(),
                                            e.kind()));
        }
        stop = true;
        return;
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!first_error) first_error = std::current_exception();
        stop = true;
        return;
      }
      std::lock_guard lock(mutex);
      ++done;
      if (callbacks.on_search) callbacks.on_search(mode, done, static_cast<int64_t>(queries.size()));
    }
  };
  const size_t n_threads = std::clamp<size_t>(static_cast<size_t>(std::max(options.concurrent_queries, 1)), 1,
                                              std::max<size_t>(queries.size(), 1));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n_threads; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);

  MetricsMean mean;  // summed in file order, so the result does not depend on which thread finished first
  for (const RetrievalMetrics& m : per_query) mean.add(m);
  ModeReport report;
  report.mode = mode;
  report.metrics = mean.mean();
  report.queries = mean.queries();
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace

EvalData load_eval_data(const EvalFiles& files) {
  // A missing file is reported at once, not after the corpus (possibly gigabytes) has been scanned.
  for (const std::string* path : {&files.corpus, &files.queries, &files.qrels}) NumberedLineReader check(*path);
  EvalData data;
  data.corpus_ids = scan_beir_corpus(files.corpus);
  data.queries = read_beir_queries(files.queries);
  std::unordered_set<std::string> query_ids;
  for (const BeirQuery& q : data.queries) query_ids.insert(q.id);
  data.qrels = read_beir_qrels(
      files.qrels, [&](const std::string& id) { return query_ids.count(id) > 0; },
      [&](const std::string& id) { return data.corpus_ids.count(id) > 0; });
  if (scored_queries(data).empty()) {
    throw Error(files.qrels + ": no query has a relevant document (a grade of 1 or more): nothing to score");
  }
  return data;
}

std::vector<const BeirQuery*> scored_queries(const EvalData& data) {
  std::vector<const BeirQuery*> scored;
  for (const BeirQuery& q : data.queries) {
    const auto it = data.qrels.by_query.find(q.id);
    if (it != data.qrels.by_query.end() && count_relevant(it->second) > 0) scored.push_back(&q);
  }
  return scored;
}

std::string corpus_document_text(const BeirDocument& document) {
  if (document.title.empty()) return document.text;
  return document.title + "\n\n" + document.text;
}

IngestReport ingest_corpus(KnowledgeBase& kb, const Collection& collection, const std::string& corpus_path,
                           int64_t n_documents, const EvalOptions& options, const EvalCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  // Shared ownership: when an error leaves a job running, its later callbacks still find their counters.
  auto progress = std::make_shared<IngestProgress>();
  auto on_outcome = [progress, n_documents, on_ingest = callbacks.on_ingest](const IngestOutcome& outcome) {
    if (outcome.status == IngestStatus::kPending) return;  // not final
    std::lock_guard lock(progress->mutex);
    ++progress->finished;
    progress->tokens += outcome.tokens;
    if (on_ingest) on_ingest(progress->finished, n_documents, progress->tokens);
  };

  Ingestion& ingestion = kb.ingestion();
  IngestReport report;
  auto wait_for = [&](int64_t job_id) {
    ingestion.wait(job_id);
    const std::optional<JobProgress> job = ingestion.job(job_id);
    if (!job || job->state != "done") {
      throw InternalError("corpus ingestion stopped before job " + std::to_string(job_id) +
                          " finished (its documents stay pending)");
    }
    add_job(report, *job);
  };
  BeirCorpusReader reader(corpus_path);
  std::vector<IngestItem> batch;
  size_t batch_bytes = 0;
  std::deque<int64_t> jobs_in_flight;
  auto submit_batch = [&] {
    if (batch.empty()) return;
    report.documents += static_cast<int64_t>(batch.size());
    jobs_in_flight.push_back(ingestion.submit(collection, std::move(batch), on_outcome));
    batch.clear();
    batch_bytes = 0;
    // Two batches in flight: the pipeline works on one while the next is read and registered.
    while (jobs_in_flight.size() > 1) {
      wait_for(jobs_in_flight.front());
      jobs_in_flight.pop_front();
    }
  };
  while (std::optional<BeirDocument> document = reader.next()) {
    IngestItem item;
    item.name = std::move(document->id);
    item.bytes = corpus_document_text(*document);
    item.format = std::string(kFormatText);  // an _id such as "x.pdf" names a text, not a PDF file
    batch_bytes += item.bytes.size();
    batch.push_back(std::move(item));
    if (batch.size() >= options.ingest_batch_documents || batch_bytes >= options.ingest_batch_bytes) submit_batch();
  }
  submit_batch();
  for (const int64_t job_id : jobs_in_flight) wait_for(job_id);
  report.seconds = seconds_since(start);
  return report;
}

SharedContents SharedContents::of_corpus(Store& store, const Collection& collection, const BeirCorpusIds& corpus_ids) {
  struct FirstDocument {
    int64_t document_id;
    const std::string* name;
  };
  std::unordered_map<int64_t, FirstDocument> first_of_content;
  std::unordered_map<int64_t, std::pair<std::vector<int64_t>, std::vector<std::string>>> groups_by_content;
  for (const auto& [name, line] : corpus_ids) {
    for (const Document& d : store.find_documents(collection.id, name)) {
      if (d.status != DocumentStatus::kIndexed || !d.content_id) continue;
      const auto [first, inserted] = first_of_content.emplace(*d.content_id, FirstDocument{d.id, &name});
      if (inserted) continue;
      auto& [ids, names] = groups_by_content[*d.content_id];
      if (ids.empty()) {
        ids.push_back(first->second.document_id);
        names.push_back(*first->second.name);
      }
      ids.push_back(d.id);
      names.push_back(name);
    }
  }
  SharedContents shared;
  for (const auto& [content, group] : groups_by_content) shared.add_group(group.first, group.second);
  return shared;
}

void SharedContents::add_group(const std::vector<int64_t>& document_ids, const std::vector<std::string>& names) {
  const size_t group = groups_.size();
  groups_.push_back(names);
  for (const int64_t id : document_ids) group_of_document_[id] = group;
}

const std::vector<std::string>* SharedContents::siblings(int64_t document_id) const {
  const auto it = group_of_document_.find(document_id);
  return it == group_of_document_.end() ? nullptr : &groups_[it->second];
}

std::vector<ScoredDocument> documents_of_hits(const std::vector<SearchHit>& hits, const SharedContents& shared) {
  std::vector<ScoredDocument> documents;
  std::unordered_set<std::string> seen;
  for (const SearchHit& hit : hits) {
    auto add = [&](const std::string& name) {
      if (seen.insert(name).second) documents.push_back({name, hit.score});
    };
    add(hit.document);
    if (const std::vector<std::string>* siblings = shared.siblings(hit.document_id)) {
      for (const std::string& name : *siblings) add(name);
    }
  }
  return documents;
}

EvalReport run_eval(KnowledgeBase& kb, const Collection& collection, const EvalFiles& files, const EvalData& data,
                    const EvalOptions& options, const EvalCallbacks& callbacks) {
  EvalReport report;
  report.corpus_documents = static_cast<int64_t>(data.corpus_ids.size());
  report.queries_in_file = static_cast<int64_t>(data.queries.size());
  for (const BeirQuery& q : data.queries) {
    const auto it = data.qrels.by_query.find(q.id);
    if (it == data.qrels.by_query.end()) {
      ++report.queries_without_judgements;
    } else if (count_relevant(it->second) == 0) {
      ++report.queries_without_relevant;
    }
  }
  report.ingest = ingest_corpus(kb, collection, files.corpus, report.corpus_documents, options, callbacks);
  const SharedContents shared = SharedContents::of_corpus(kb.store(), collection, data.corpus_ids);
  const std::vector<const BeirQuery*> queries = scored_queries(data);
  for (const SearchMode mode : options.modes) {
    report.modes.push_back(
        evaluate_mode(kb, collection, files.queries, data, queries, mode, shared, options, callbacks));
  }
  return report;
}

}  // namespace qembed::kb
