// The knowledge base's REST API under /v1/kb/ (with `serve --kb PATH`): collections, documents, ingestion jobs and
// search; uploads are kb_upload.cpp. Every route runs on the tokenization workers (the store and the query's
// embedding block) and holds a --max-concurrent-requests slot. Reads and search: roles admin, embed and search;
// changes: admin and embed. Errors in the OpenAI shape; 404 for a collection, document or job that does not exist.
#include <algorithm>
#include <chrono>
#include <map>

#include "server/api/kb_api.hpp"
#include "server/api/kb_json.hpp"
#include "server/api/kb_upload.hpp"
#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"
#include "server/api/url.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;

std::optional<int64_t> chunks_if_open(kb::KnowledgeBase& kb, const kb::Collection& c) {
  if (!kb.searcher().index_ready(c.id)) return std::nullopt;
  return static_cast<int64_t>(kb.searcher().index(c)->size());
}

json reindex_json(const KnowledgeBaseHost::ReindexStatus& r) {
  json out{{"state", r.state}, {"done", r.done}, {"total", r.total}, {"started_ms", r.started_ms}};
  if (r.finished_ms) out["finished_ms"] = r.finished_ms;
  if (!r.error.empty()) out["error"] = r.error;
  return out;
}

json collection_summary(ApiEnv& env, const kb::Collection& c) {
  kb::KnowledgeBase& kb = env.kb().kb();
  json out = kb_call([&] {
    return collection_api_json(c, kb.store().document_counts(c.id), chunks_if_open(kb, c),
                               collection_matches_model(env, c));
  });
  if (const auto r = env.kb().reindex_status(c.settings.name)) out["reindex"] = reindex_json(*r);
  return out;
}

//! A non-negative integer query or path value; `what` names it in the error.
int64_t parse_id(const std::string& text, const std::string& what, Failure failure = Failure::kInvalidInput) {
  int64_t v = 0;
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) v = std::stoll(text);
  if (!digits)
    throw ApiError(failure, what + " must be a non-negative integer, got \"" + text.substr(0, 32) + "\"", what);
  return v;
}

//! The document the path names, in the path's collection: 404 otherwise.
kb::Document path_document(ApiEnv& env, const Call& call, const kb::Collection& c) {
  const std::string& text = call.path_params.at(1);
  const int64_t id = parse_id(text, "document id", Failure::kNotFound);
  std::optional<kb::Document> d = kb_call([&] { return env.kb().kb().store().get_document(id); });
  if (!d || d->collection_id != c.id) {
    throw ApiError(Failure::kNotFound, "no document " + text + " in collection '" + c.settings.name + "'",
                   "document_id");
  }
  return *d;
}

//! Collection names by id, to name each job's collection (a deleted one has none: "").
std::map<int64_t, std::string> collection_names(ApiEnv& env) {
  std::map<int64_t, std::string> names;
  for (const kb::Collection& c : kb_call([&] { return env.kb().kb().store().list_collections(); })) {
    names[c.id] = c.settings.name;
  }
  return names;
}

// --- collections

void create_collection(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::CollectionRequest request = parse_collection_request(parse_body(req.body()));
  kb::KnowledgeBase& kb = env.kb().kb();
  if (kb_call([&] { return kb.store().find_collection(request.name); })) {
    throw ApiError(Failure::kConflict, "a collection named '" + request.name + "' exists already", "name");
  }
  const kb::Collection c = kb_call([&] { return kb.create_collection(request); });
  env.kb().note_collection(c.settings.name, true);
  kb_reply(env, call, collection_api_json(c, kb::DocumentCounts{}, 0, true), 201);
}

void list_collections(ApiEnv& env, const CallPtr& call, Request&) {
  json data = json::array();
  for (const kb::Collection& c : kb_call([&] { return env.kb().kb().store().list_collections(); })) {
    data.push_back(collection_summary(env, c));
  }
  kb_reply(env, call, {{"object", "list"}, {"data", std::move(data)}});
}

void get_collection(ApiEnv& env, const CallPtr& call, Request&) {
  kb_reply(env, call, collection_summary(env, path_collection(env, *call)));
}

void delete_collection(ApiEnv& env, const CallPtr& call, Request&) {
  const kb::Collection c = path_collection(env, *call);
  kb_call([&] { env.kb().kb().delete_collection(c.settings.name); });
  env.kb().note_collection(c.settings.name, false);
  kb_reply(env, call, {{"name", c.settings.name}, {"id", c.id}, {"deleted", true}});
}

//! POST {"dimensions"?}: re-embed the collection with the loaded model in the background (202); its progress is in
//! the collection's "reindex" field.
void reindex_collection(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::Collection c = path_collection(env, *call);
  const int32_t dimensions =
      parse_reindex_request(req.body().empty() ? json::object() : parse_body(req.body()));
  if (collection_matches_model(env, c) && (dimensions == 0 || dimensions == c.settings.dimensions)) {
    throw ApiError(Failure::kConflict,
                   "collection '" + c.settings.name + "' already uses the loaded model at these dimensions",
                   "dimensions");
  }
  if (!env.kb().start_reindex(c, dimensions)) {
    throw ApiError(Failure::kConflict, "a reindex is already running on this server; retry when it is done", "");
  }
  kb_reply(env, call, collection_summary(env, c), 202);
}

// --- documents

void list_documents(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::Collection c = path_collection(env, *call);
  const auto params = query_params(std::string_view(req.target().data(), req.target().size()));
  std::optional<kb::DocumentStatus> status;
  if (const std::optional<std::string> s = query_param(params, "status"); s && !s->empty()) {
    status = kb::parse_document_status(*s);
    if (!status) {
      throw ApiError(Failure::kInvalidInput,
                     "status must be pending, indexed or failed, got \"" + s->substr(0, 32) + "\"", "status");
    }
  }
  const std::optional<std::string> after_text = query_param(params, "after");
  const int64_t after = after_text && !after_text->empty() ? parse_id(*after_text, "after") : 0;
  int64_t limit = kDefaultPageSize;
  if (const std::optional<std::string> l = query_param(params, "limit")) {
    limit = parse_id(*l, "limit");
    if (limit < 1 || limit > kMaxPageSize) {
      throw ApiError(Failure::kInvalidInput, "limit must be between 1 and " + std::to_string(kMaxPageSize), "limit");
    }
  }
  // One more than asked tells whether another page follows.
  std::vector<kb::Document> docs = kb_call(
      [&] { return env.kb().kb().store().list_documents(c.id, status, after, static_cast<int32_t>(limit + 1)); });
  const bool has_more = static_cast<int64_t>(docs.size()) > limit;
  if (has_more) docs.resize(static_cast<size_t>(limit));
  json data = json::array();
  for (const kb::Document& d : docs) data.push_back(kb::document_json(d));
  kb_reply(env, call,
           {{"object", "list"},
            {"data", std::move(data)},
            {"has_more", has_more},
            {"next_after", has_more ? json(docs.back().id) : json(nullptr)}});
}

void get_document(ApiEnv& env, const CallPtr& call, Request&) {
  const kb::Collection c = path_collection(env, *call);
  kb_reply(env, call, kb::document_json(path_document(env, *call, c)));
}

//! The document's extracted text, as search offsets index it (`start`/`end` of a hit are code points into it): what
//! a citation opens to show the passage in its place.
void get_document_text(ApiEnv& env, const CallPtr& call, Request&) {
  const kb::Collection c = path_collection(env, *call);
  const kb::Document d = path_document(env, *call, c);
  if (!d.content_id) {
    throw ApiError(Failure::kConflict,
                   "document " + std::to_string(d.id) + " (" + d.name + ") is " +
                       std::string(kb::document_status_name(d.status)) + ": it has no text yet",
                   "document_id");
  }
  std::optional<std::string> text = kb_call([&] { return env.kb().kb().store().content_text(*d.content_id); });
  if (!text) throw ApiError(Failure::kNotFound, "document " + std::to_string(d.id) + " was deleted meanwhile");
  kb_reply(env, call, {{"id", d.id}, {"name", d.name}, {"format", d.format}, {"text", std::move(*text)}});
}

void delete_document(ApiEnv& env, const CallPtr& call, Request&) {
  const kb::Collection c = path_collection(env, *call);
  const kb::Document d = path_document(env, *call, c);
  kb_call([&] { env.kb().kb().store().delete_document(d.id); });
  env.kb().note_change();
  kb_reply(env, call, {{"id", d.id}, {"name", d.name}, {"deleted", true}});
}

void put_metadata(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::Collection c = path_collection(env, *call);
  const kb::Document d = path_document(env, *call, c);
  const json metadata = parse_body(req.body());  // an object: parse_body refuses anything else
  kb_call([&] { env.kb().kb().store().set_metadata(d.id, dump(metadata)); });
  std::optional<kb::Document> updated = kb_call([&] { return env.kb().kb().store().get_document(d.id); });
  if (!updated) throw ApiError(Failure::kNotFound, "document " + std::to_string(d.id) + " was deleted meanwhile");
  kb_reply(env, call, kb::document_json(*updated));
}

// --- jobs

void list_jobs(ApiEnv& env, const CallPtr& call, Request& req) {
  const auto params = query_params(std::string_view(req.target().data(), req.target().size()));
  int64_t limit = kDefaultPageSize;
  if (const std::optional<std::string> l = query_param(params, "limit")) {
    limit = parse_id(*l, "limit");
    if (limit < 1 || limit > kMaxPageSize) {
      throw ApiError(Failure::kInvalidInput, "limit must be between 1 and " + std::to_string(kMaxPageSize), "limit");
    }
  }
  const std::map<int64_t, std::string> names = collection_names(env);
  json data = json::array();
  for (const kb::JobProgress& job : env.kb().kb().ingestion().jobs(static_cast<size_t>(limit))) {
    const auto name = names.find(job.collection_id);
    data.push_back(job_api_json(job, name == names.end() ? "" : name->second, false));
  }
  kb_reply(env, call, {{"object", "list"}, {"data", std::move(data)}});
}

void get_job(ApiEnv& env, const CallPtr& call, Request&) {
  const std::string& text = call->path_params.at(0);
  const int64_t id = parse_id(text, "job id", Failure::kNotFound);
  const std::optional<kb::JobProgress> job = env.kb().kb().ingestion().job(id);
  if (!job) throw ApiError(Failure::kNotFound, "no job " + text + " (jobs are kept in memory until the server stops)");
  const std::map<int64_t, std::string> names = collection_names(env);
  const auto name = names.find(job->collection_id);
  kb_reply(env, call, job_api_json(*job, name == names.end() ? "" : name->second, true));
}

// --- search

void search(ApiEnv& env, const CallPtr& call, Request& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const kb::SearchRequest request = parse_search_request(parse_body(req.body()));
  // Keyword search needs no model: a collection built with another one stays searchable by its words.
  const kb::Collection c = request.mode == kb::SearchMode::kKeyword ? path_collection(env, *call)
                                                                     : path_collection_for_model(env, *call);
  if (request.mode != kb::SearchMode::kKeyword && env.kb().index_opening(c.id)) {
    ApiError e(Failure::kUnavailable, "knowledge base: opening the vector index of collection '" + c.settings.name +
                                          "'; retry when GET /health returns 200 (keyword search works meanwhile)");
    throw e;
  }
  const kb::SearchResults results = kb_call([&] { return env.kb().kb().search(c, request); });
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  env.metrics.kb_search(kb::search_mode_name(request.mode), total_s);
  json hits = json::array();
  for (const kb::SearchHit& h : results.hits) hits.push_back(kb::hit_json(h));
  kb_reply(
      env, call,
      {{"object", "list"},
       {"collection", c.settings.name},
       {"mode", kb::search_mode_name(request.mode)},
       {"hits", std::move(hits)},
       {"reranked", results.reranked},
       {"usage", {{"query_tokens", results.query_tokens}, {"rerank_tokens", results.rerank_tokens}}},
       {"timings",
        {{"embed_ms", results.embed_ms},
         {"search_ms", results.search_ms},
         {"rerank_ms", results.rerank_ms},
         {"total_ms", total_s * 1000}}}});
}

// --- relevance labels

//! POST .../labels {query, document, start?, end?, relevant}: a person's thumbs up or down on a search result,
//! recorded for `qembed kb labels export`. Open to the search role too: judging results changes nothing that is
//! searched.
void save_label(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::Collection c = path_collection(env, *call);
  kb::RelevanceLabel label = parse_label_request(parse_body(req.body()));
  label.collection_id = c.id;
  // Judged documents must exist now; the label then follows the name through later versions.
  if (kb_call([&] { return env.kb().kb().store().find_documents(c.id, label.document_name); }).empty()) {
    throw ApiError(Failure::kNotFound,
                   "no document named '" + label.document_name + "' in collection '" + c.settings.name + "'",
                   "document");
  }
  kb_call([&] { env.kb().kb().store().save_label(label); });
  kb_reply(env, call,
           {{"collection", c.settings.name},
            {"query", label.query},
            {"document", label.document_name},
            {"relevant", label.grade > 0},
            {"start", label.passage_start},
            {"end", label.passage_end}},
           201);
}

}  // namespace

void add_kb_routes(RouteTable& t) {
  // method, path, prefix, roles, label (the path), dialect, needs the model, takes a slot, handler
  auto add = [&t](http::verb method, const char* path, RoleSet roles, Handler handler, BodyStreamer streamer = {}) {
    t.add({method, path, false, roles, path, Dialect::kOpenAI, true, true, std::move(handler), std::move(streamer)});
  };
  add(http::verb::post, "/v1/kb/collections", kKbWriteRoles, create_collection);
  add(http::verb::get, "/v1/kb/collections", kReadRoles, list_collections);
  add(http::verb::get, "/v1/kb/collections/{name}", kReadRoles, get_collection);
  add(http::verb::delete_, "/v1/kb/collections/{name}", kKbWriteRoles, delete_collection);
  add(http::verb::post, "/v1/kb/collections/{name}/reindex", kKbWriteRoles, reindex_collection);
  add(http::verb::post, "/v1/kb/collections/{name}/documents", kKbWriteRoles, upload_documents, upload_streamer);
  add(http::verb::get, "/v1/kb/collections/{name}/documents", kReadRoles, list_documents);
  add(http::verb::get, "/v1/kb/collections/{name}/documents/{id}", kReadRoles, get_document);
  add(http::verb::get, "/v1/kb/collections/{name}/documents/{id}/text", kReadRoles, get_document_text);
  add(http::verb::delete_, "/v1/kb/collections/{name}/documents/{id}", kKbWriteRoles, delete_document);
  add(http::verb::put, "/v1/kb/collections/{name}/documents/{id}/metadata", kKbWriteRoles, put_metadata);
  add(http::verb::post, "/v1/kb/collections/{name}/search", kReadRoles, search);
  add(http::verb::post, "/v1/kb/collections/{name}/labels", kReadRoles, save_label);
  add(http::verb::get, "/v1/kb/jobs", kReadRoles, list_jobs);
  add(http::verb::get, "/v1/kb/jobs/{id}", kReadRoles, get_job);
}

}  // namespace qembed::server::api
