#include "kb/search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <unordered_map>

#include "common/error.hpp"
#include "kb/rerank_stage.hpp"
#include "kb/text/keyword_terms.hpp"
#include "kb/text/utf8_offsets.hpp"
#include "service/embedding_service.hpp"

namespace qembed::kb {

const char* search_mode_name(SearchMode mode) {
  switch (mode) {
    case SearchMode::kHybrid: return "hybrid";
    case SearchMode::kVector: return "vector";
    case SearchMode::kKeyword: return "keyword";
  }
  return "hybrid";
}

std::optional<SearchMode> parse_search_mode(std::string_view name) {
  if (name == "hybrid") return SearchMode::kHybrid;
  if (name == "vector") return SearchMode::kVector;
  if (name == "keyword") return SearchMode::kKeyword;
  return std::nullopt;
}

std::vector<FusedId> fuse_ranks(const std::vector<int64_t>& list_a, double weight_a,
                                const std::vector<int64_t>& list_b, double weight_b, size_t k) {
  std::unordered_map<int64_t, FusedId> by_id;
  std::vector<int64_t> order;  // first appearance, for a deterministic tie order
  auto add = [&](const std::vector<int64_t>& list, double weight, bool is_a) {
    for (size_t i = 0; i < list.size(); ++i) {
      auto [it, fresh] = by_id.try_emplace(list[i]);
      if (fresh) {
        it->second.id = list[i];
        order.push_back(list[i]);
      }
      auto& rank = is_a ? it->second.rank_a : it->second.rank_b;
      if (rank) continue;  // an id twice in one list counts at its best place
      rank = static_cast<int32_t>(i + 1);
      it->second.score += weight / (kRrfK + static_cast<double>(i + 1));
    }
  };
  add(list_a, weight_a, true);
  add(list_b, weight_b, false);
  std::vector<FusedId> out;
  out.reserve(order.size());
  for (int64_t id : order) out.push_back(by_id[id]);
  std::stable_sort(out.begin(), out.end(), [](const FusedId& x, const FusedId& y) { return x.score > y.score; });
  if (out.size() > k) out.resize(k);
  return out;
}

struct Searcher::Slot {
  std::mutex open_mutex;  // one opener/refresher at a time; searches run on the shared_ptr they got
  std::shared_ptr<VectorIndex> index;
  std::string fingerprint;
  std::atomic<bool> ready{false};
};

Searcher::Searcher(Store& store, std::string db_path, service::EmbeddingService* service,
                   const VectorIndexOptions& options, int threads, service::EmbeddingService* reranker)
    : store_(store),
      db_path_(std::move(db_path)),
      service_(service),
      reranker_(reranker),
      options_(options),
      threads_(std::max(threads, 1)) {}

Searcher::~Searcher() = default;

Searcher::Slot& Searcher::slot(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  std::unique_ptr<Slot>& s = slots_[collection_id];
  if (!s) s = std::make_unique<Slot>();
  return *s;
}

std::shared_ptr<VectorIndex> Searcher::index(const Collection& collection, IndexOpenReport* report) {
  Slot& s = slot(collection.id);
  std::lock_guard lock(s.open_mutex);
  const auto dims = static_cast<size_t>(collection.settings.dimensions);
  // A reindex (another model, other dimensions) makes the open index meaningless: open it again.
  if (!s.index || s.index->dims() != dims || s.fingerprint != collection.settings.model.fingerprint) {
    s.ready = false;
    const std::string path = db_path_.empty() ? std::string() : vector_index_path(db_path_, collection.id);
    s.index = open_vector_index(store_, collection, path, options_, report);
    s.fingerprint = collection.settings.model.fingerprint;
    s.ready = true;
  } else if (store_.change_seq(collection.id) != s.index->seq()) {
    refresh_vector_index(store_, collection.id, *s.index);
  }
  return s.index;
}

void Searcher::drop_index(int64_t collection_id) {
  std::lock_guard lock(mutex_);
  slots_.erase(collection_id);
}

bool Searcher::index_ready(int64_t collection_id) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(collection_id);
  return it != slots_.end() && it->second->ready;
}

namespace {

void check_request(const SearchRequest& request) {
  if (request.query.empty()) throw Error("the query is empty");
  if (request.top_k < 1 || request.top_k > 1000) {
    throw Error("top_k " + std::to_string(request.top_k) + " is out of range (1 to 1000)");
  }
  if (!(request.vector_weight >= 0) || !(request.keyword_weight >= 0) || !std::isfinite(request.vector_weight) ||
      !std::isfinite(request.keyword_weight) || request.vector_weight + request.keyword_weight <= 0) {
    throw Error("vector_weight and keyword_weight must be finite, at least 0, and not both 0");
  }
  if (request.rerank_candidates < 1 || request.rerank_candidates > 1000) {
    throw Error("rerank_candidates " + std::to_string(request.rerank_candidates) + " is out of range (1 to 1000)");
  }
}

//! The query's distinct keyword terms, as Store::keyword_search takes them.
std::string query_terms(std::string_view query) {
  std::vector<std::string> terms = keyword_terms(query, TermSide::kQuery);
  std::set<std::string> seen;
  std::string out;
  size_t kept = 0;
  for (std::string& t : terms) {
    if (!seen.insert(t).second) continue;
    if (++kept > kMaxQueryTerms) break;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

}  // namespace

std::vector<VectorHit> Searcher::search_vector(const Collection& collection, std::span<const float> query,
                                               const SearchRequest& request) {
  std::shared_ptr<VectorIndex> idx = index(collection);
  std::vector<int64_t> allowed;
  VectorSearchOptions options;
  options.k = static_cast<size_t>(request.top_k);
  options.ef = request.ef;
  options.n_threads = threads_;
  if (request.exact) options.mode = VectorSearchOptions::Mode::kExact;
  if (!request.filter.empty()) {
    allowed = store_.filter_chunk_ids(collection.id, request.filter);
    if (allowed.empty()) return {};
    options.allowed = &allowed;
  }
  const int64_t collection_id = collection.id;
  RescoreFn rescore = [this, collection_id](std::span<const int64_t> ids) {
    return store_.load_vectors_f32(collection_id, ids);
  };
  return idx->search(query, options, collection.settings.vector_type == VectorType::kInt8 ? &rescore : nullptr);
}

SearchResults Searcher::search(const Collection& collection, const SearchRequest& request) {
  check_request(request);
  // Before the query is embedded: a request that cannot be answered costs nothing.
  if (reranks(collection, request) && !reranker_) throw Error(kNoRerankerMessage);
  if (request.mode == SearchMode::kKeyword) return search_with_vector(collection, request, {});
  if (!service_) throw Error("vector search needs a model (this knowledge base was opened without one)");
  const auto t0 = std::chrono::steady_clock::now();
  service::EmbedParams params;
  params.instruction = collection.settings.query_instruction.empty() ? std::string(service::kDefaultQueryTask)
                                                                     : collection.settings.query_instruction;
  params.truncate = true;
  params.truncate_hint = "a shorter query";
  const int64_t dims = collection.settings.dimensions;
  params.dimensions = dims == service_->model_info().n_embd ? 0 : dims;
  service::EmbedInputs inputs;
  inputs.texts = {request.query};
  service::EncodedRequest encoded = service_->encode(inputs, params);
  encoded.priority = service::Priority::kInteractive;
  service::EmbedResult embedded = service_->embed(std::move(encoded));
  const double embed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  SearchResults results = search_with_vector(collection, request, embedded.vectors.at(0));
  results.query_tokens = embedded.total_tokens;
  results.embed_ms = embed_ms;
  return results;
}

SearchResults Searcher::search_with_vector(const Collection& collection, const SearchRequest& request,
                                           std::span<const float> query_vector) {
  check_request(request);
  if (!reranks(collection, request)) return retrieve(collection, request, query_vector);
  if (!reranker_) throw Error(kNoRerankerMessage);
  SearchRequest candidates = request;
  candidates.top_k = std::max(request.rerank_candidates, request.top_k);
  SearchResults results = retrieve(collection, candidates, query_vector);
  const RerankStats stats = rerank_hits(*reranker_, request.query, results.hits, static_cast<size_t>(request.top_k));
  results.reranked = true;
  results.rerank_ms = stats.ms;
  results.rerank_tokens = stats.tokens;
  return results;
}

SearchResults Searcher::retrieve(const Collection& collection, const SearchRequest& request,
                                 std::span<const float> query_vector) {
  SearchResults results;
  const size_t k = static_cast<size_t>(request.top_k);
  // Fusion needs deeper lists than the answer: a passage ranked 30th by both lists beats one ranked 5th by one.
  const size_t depth = request.mode == SearchMode::kHybrid ? std::min<size_t>(std::max<size_t>(2 * k, 50), 1000) : k;
  const auto t1 = std::chrono::steady_clock::now();

  std::vector<std::pair<int64_t, double>> vector_list, keyword_list;
  if (request.mode != SearchMode::kKeyword) {
    SearchRequest vector_request = request;
    vector_request.top_k = static_cast<int32_t>(depth);
    for (const VectorHit& h : search_vector(collection, query_vector, vector_request)) {
      vector_list.emplace_back(h.chunk_id, h.score);
    }
  }
  if (request.mode != SearchMode::kVector) {
    const std::string terms = query_terms(request.query);
    if (!terms.empty()) {
      for (const KeywordHit& h :
           store_.keyword_search(collection.id, terms, static_cast<int32_t>(depth), request.filter)) {
        keyword_list.emplace_back(h.chunk_id, h.score);
      }
    }
  }

  std::vector<std::pair<int64_t, double>> scored;
  std::unordered_map<int64_t, std::pair<std::optional<double>, std::optional<double>>> list_scores;
  std::unordered_map<int64_t, std::pair<std::optional<int32_t>, std::optional<int32_t>>> list_ranks;
  if (request.mode == SearchMode::kHybrid) {
    std::vector<int64_t> a, b;
    for (auto& [id, score] : vector_list) {
      a.push_back(id);
      list_scores[id].first = score;
    }
    for (auto& [id, score] : keyword_list) {
      b.push_back(id);
      list_scores[id].second = score;
    }
    for (const FusedId& f : fuse_ranks(a, request.vector_weight, b, request.keyword_weight, depth)) {
      scored.emplace_back(f.id, f.score);
      list_ranks[f.id] = {f.rank_a, f.rank_b};
    }
  } else {
    scored = request.mode == SearchMode::kVector ? vector_list : keyword_list;
  }
  // Only the best k become hits (their text, document and highlights are read from the store); an id whose
  // document went meanwhile (deleted, or no longer passing the filter) is dropped, and the next ones fill in.
  std::vector<SearchHit> hits;
  for (size_t next = 0; hits.size() < k && next < scored.size();) {
    const size_t take = std::min(scored.size() - next, k - hits.size() + 2);
    const std::vector<std::pair<int64_t, double>> slice(scored.begin() + static_cast<std::ptrdiff_t>(next),
                                                        scored.begin() + static_cast<std::ptrdiff_t>(next + take));
    for (SearchHit& h : make_hits(slice, request.query, request.filter)) hits.push_back(std::move(h));
    next += take;
  }
  if (hits.size() > k) hits.resize(k);
  for (size_t i = 0; i < hits.size(); ++i) {
    SearchHit& h = hits[i];
    h.rank = static_cast<int32_t>(i + 1);
    if (request.mode == SearchMode::kHybrid) {
      h.vector_score = list_scores[h.chunk_id].first;
      h.keyword_score = list_scores[h.chunk_id].second;
      h.vector_rank = list_ranks[h.chunk_id].first;
      h.keyword_rank = list_ranks[h.chunk_id].second;
    }
  }
  results.hits = std::move(hits);
  results.search_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  return results;
}

std::vector<SearchHit> Searcher::make_hits(const std::vector<std::pair<int64_t, double>>& scored,
                                           std::string_view query, const SearchFilter& filter) {
  std::vector<int64_t> ids;
  ids.reserve(scored.size());
  for (const auto& [id, score] : scored) ids.push_back(id);
  const std::vector<Chunk> chunks = store_.get_chunks(ids);
  std::unordered_map<int64_t, const Chunk*> chunk_by_id;
  std::vector<int64_t> content_ids;
  for (const Chunk& c : chunks) {
    chunk_by_id[c.id] = &c;
    content_ids.push_back(c.content_id);
  }
  std::sort(content_ids.begin(), content_ids.end());
  content_ids.erase(std::unique(content_ids.begin(), content_ids.end()), content_ids.end());
  // A content shared by several documents (the same file under two names) cites the first of them.
  std::unordered_map<int64_t, Document> document_of;
  for (auto& [content_id, doc] : store_.documents_for_contents(content_ids, filter)) {
    document_of.try_emplace(content_id, std::move(doc));
  }
  const std::vector<std::string> texts = store_.chunk_texts(ids);
  std::vector<SearchHit> hits;
  for (size_t i = 0; i < scored.size(); ++i) {
    auto c = chunk_by_id.find(scored[i].first);
    if (c == chunk_by_id.end()) continue;
    auto d = document_of.find(c->second->content_id);
    if (d == document_of.end()) continue;
    const Chunk& chunk = *c->second;
    SearchHit h;
    h.score = scored[i].second;
    h.chunk_id = chunk.id;
    h.document_id = d->second.id;
    h.document = d->second.name;
    h.format = d->second.format;
    h.metadata_json = d->second.metadata_json;
    h.page_first = chunk.page_first;
    h.page_last = chunk.page_last;
    h.section = chunk.section_path;
    h.text = texts[i];
    h.start = chunk.cp_start;
    h.end = chunk.cp_end;
    if (!query.empty()) {
      for (const auto& [s, e] : keyword_highlights(h.text, query)) {
        h.highlights.emplace_back(code_points_before(h.text, s), code_points_before(h.text, e));
      }
    }
    hits.push_back(std::move(h));
  }
  return hits;
}

}  // namespace qembed::kb
