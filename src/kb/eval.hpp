#pragma once
// `qembed kb eval`: retrieval quality of a collection on the user's own labelled data (BEIR layout, kb/beir.hpp).
// The corpus is ingested into the collection under each `_id` as the document name (a name already holding the
// same text is a duplicate and skipped), then every query is searched in each mode with the knowledge base's own
// search, hits are turned into a ranking of documents, and the metrics of kb/retrieval_metrics.hpp are averaged.
// docs/kb.md, "Evaluation", describes the behaviour for users.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kb/beir.hpp"
#include "kb/knowledge_base.hpp"
#include "kb/retrieval_metrics.hpp"
#include "kb/search.hpp"

namespace qembed::kb {

struct EvalFiles {
  std::string corpus;   //!< corpus.jsonl
  std::string queries;  //!< queries.jsonl
  std::string qrels;    //!< qrels.tsv
};

//! The three files, read and checked against each other before anything slow (ingestion) starts.
struct EvalData {
  BeirCorpusIds corpus_ids;
  std::vector<BeirQuery> queries;
  BeirQrels qrels;
};
//! Errors: those of the readers (kb/beir.hpp), each naming file:line.
EvalData load_eval_data(const EvalFiles& files);

//! What is ingested for a corpus document: `title + "\n\n" + text` when it has a title, else its text.
std::string corpus_document_text(const BeirDocument& document);

struct EvalOptions {
  std::vector<SearchMode> modes = {SearchMode::kVector, SearchMode::kKeyword, SearchMode::kHybrid};
  //! Ingestion is submitted in batches of at most this many documents / bytes, with two batches in flight, so
  //! memory stays bounded whatever the corpus size.
  size_t ingest_batch_documents = 256;
  size_t ingest_batch_bytes = size_t{8} << 20;
  //! Queries searched at once: vector search embeds each query, and concurrent queries share the service's batches.
  int concurrent_queries = 4;
  //! Documents ranked per query: recall@100 needs 100.
  size_t ranked_documents = 100;
};

struct EvalCallbacks {
  //! Ingestion progress: corpus documents finished (any outcome) of `total`, tokens embedded so far.
  std::function<void(int64_t finished, int64_t total, int64_t tokens)> on_ingest;
  //! Search progress in one mode: queries done of `total`.
  std::function<void(SearchMode mode, int64_t done, int64_t total)> on_search;
};

struct IngestReport {
  int64_t documents = 0;  //!< corpus documents submitted
  int64_t indexed = 0, duplicates = 0, replaced = 0, failed = 0;
  int64_t tokens = 0;  //!< tokens embedded (0 when everything was already there)
  double seconds = 0;
  std::vector<std::string> failures;  //!< the first few "id: reason"
};

struct ModeReport {
  SearchMode mode = SearchMode::kHybrid;
  RetrievalMetrics metrics;  //!< means over the queries with at least one relevant document
  int64_t queries = 0;       //!< queries scored
  double seconds = 0;        //!< searching all queries in this mode
};

struct EvalReport {
  int64_t corpus_documents = 0;
  int64_t queries_in_file = 0;
  int64_t queries_without_relevant = 0;    //!< judged, but no grade >= 1: not scored
  int64_t queries_without_judgements = 0;  //!< in queries.jsonl but not in qrels.tsv: not searched
  IngestReport ingest;
  std::vector<ModeReport> modes;
};

//! Ingests corpus.jsonl into `collection` (document name = `_id`). Waits until every document is final.
IngestReport ingest_corpus(KnowledgeBase& kb, const Collection& collection, const std::string& corpus_path,
                           int64_t n_documents, const EvalOptions& options, const EvalCallbacks& callbacks);

//! Documents whose content is stored once for several corpus ids (identical texts): the store shares one content
//! between them, so a search hit names only one of them while each is equally retrieved.
class SharedContents {
 public:
  //! Looks every corpus id up in the store (one point query each) and keeps the groups of two or more.
  static SharedContents of_corpus(Store& store, const Collection& collection, const BeirCorpusIds& corpus_ids);
  //! Declares that the documents `names` (ids `document_ids`) share one content (tests).
  void add_group(const std::vector<int64_t>& document_ids, const std::vector<std::string>& names);
  //! The names sharing the content of document `document_id`, or nullptr when it shares with none.
  const std::vector<std::string>* siblings(int64_t document_id) const;
  bool empty() const { return groups_.empty(); }

 private:
  std::vector<std::vector<std::string>> groups_;
  std::unordered_map<int64_t, size_t> group_of_document_;
};

//! One entry per distinct document name, scored by its best chunk (the first hit naming it: hits come best
//! first), so several chunks of one document count once; documents sharing a hit's content get its score too.
std::vector<ScoredDocument> documents_of_hits(const std::vector<SearchHit>& hits, const SharedContents& shared);

//! The queries that are scored: those with at least one judgement of grade >= 1, in file order. Queries without
//! judgements, or judged only 0, are counted in the report instead.
std::vector<const BeirQuery*> scored_queries(const EvalData& data);

//! Ingests the corpus, then searches every judged query in every mode of `options` and averages the metrics.
EvalReport run_eval(KnowledgeBase& kb, const Collection& collection, const EvalFiles& files, const EvalData& data,
                    const EvalOptions& options, const EvalCallbacks& callbacks = {});

}  // namespace qembed::kb
