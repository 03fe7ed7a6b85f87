#include "server/api/kb_upload.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "server/api/kb_api.hpp"
#include "server/api/kb_json.hpp"
#include "server/api/kb_names.hpp"
#include "server/api/kb_upload_sink.hpp"
#include "server/api/request_parsing.hpp"
#include "server/api/response_writers.hpp"
#include "server/api/routes.hpp"
#include "server/api/url.hpp"
#include "server/http/multipart.hpp"

namespace qembed::server::api {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

constexpr const char* kUploadRoute = "/v1/kb/collections/{name}/documents";
//! One entry of the answer's "documents", in upload order: refused at upload, or item `item` of the job.
struct UploadEntry {
  std::string file;  // the name as sent
  std::string name;  // the document name
  std::optional<FileRefusal> refusal;
  size_t item = 0;
};

//! What the outcome callbacks and the handler share: final outcomes by item, and what a waiting upload answers
//! with. The job keeps its callback (and so this) until it is forgotten: the call is dropped once answered.
struct UploadProgress {
  std::mutex mu;
  std::vector<std::optional<kb::IngestOutcome>> finals;
  size_t remaining = 0;
  bool submitted = false;
  int64_t job_id = 0;
  CallPtr waiting_call;  // ?wait=true: the call to answer once every item is final
  std::vector<UploadEntry> entries;
  std::string collection_name;
};

//! When no file of the upload was recorded because the database was unreachable (the others, if any, refused
//! outright), the upload as a whole failed and may be sent again as it is: a 503 with Retry-After says so to
//! clients and load balancers, where a 202 listing failed files would read as accepted.
std::optional<ApiError> unavailable_failure(const std::vector<UploadEntry>& entries,
                                            const std::vector<std::optional<kb::IngestOutcome>>& finals) {
  std::string reason;
  for (const UploadEntry& e : entries) {
    if (e.refusal) continue;
    const std::optional<kb::IngestOutcome>& o = finals[e.item];
    if (!o || !o->unavailable) return std::nullopt;
    if (reason.empty()) reason = o->error;
  }
  if (reason.empty()) return std::nullopt;
  ApiError out(Failure::kUnavailable, "nothing of the upload was stored: " + reason + "; send it again");
  out.retry_after_s = 2;
  return out;
}

json upload_answer(const std::vector<UploadEntry>& entries, const std::vector<std::optional<kb::IngestOutcome>>& finals,
                   const std::optional<kb::JobProgress>& job, const std::string& collection) {
  json docs = json::array();
  for (const UploadEntry& e : entries) {
    if (e.refusal) {
      docs.push_back({{"file", e.file},
                      {"name", e.name},
                      {"document_id", 0},
                      {"status", "failed"},
                      {"chunks", 0},
                      {"error", e.refusal->message},
                      {"error_status", e.refusal->status}});
      continue;
    }
    std::optional<kb::IngestOutcome> o = finals[e.item];
    if (!o && job && e.item < job->outcomes.size()) o = job->outcomes[e.item];
    if (!o) {
      o = kb::IngestOutcome{};
      o->index = e.item;
      o->name = e.name;
    }
    json doc = kb::outcome_json(*o);
    doc["file"] = e.file;  // as sent; "name" is the document's
    doc["name"] = e.name;
    docs.push_back(std::move(doc));
  }
  json out = {{"documents", std::move(docs)}};
  out["job"] = job ? job_api_json(*job, collection, false) : json(nullptr);
  return out;
}

bool parse_wait(const Request& req) {
  const std::optional<std::string> w =
      query_param(query_params(std::string_view(req.target().data(), req.target().size())), "wait");
  if (!w) return false;
  if (*w == "true" || *w == "1" || w->empty()) return true;
  if (*w == "false" || *w == "0") return false;
  throw ApiError(Failure::kInvalidInput, "wait must be true or false, got \"" + w->substr(0, 32) + "\"", "wait");
}

//! The metadata every file of a multipart upload gets: its "metadata" field, a JSON object.
std::string multipart_metadata(const UploadSink& sink) {
  if (!sink.has_metadata()) return "{}";
  json m;
  try {
    m = json::parse(sink.metadata());
  } catch (const json::exception&) {
    throw ApiError(Failure::kInvalidInput, "the form field \"metadata\" is not valid JSON", "metadata");
  }
  if (!m.is_object()) {
    throw ApiError(Failure::kInvalidInput,
                   "the form field \"metadata\" must be a JSON object, got " + json_type_name(m), "metadata");
  }
  return dump(m);
}

void collect_multipart(const std::shared_ptr<UploadSink>& sink, std::vector<UploadEntry>& entries,
                       std::vector<kb::IngestItem>& items) {
  const std::string metadata = multipart_metadata(*sink);
  for (const ReceivedFile& f : sink->files()) {
    UploadEntry e{f.file_name, f.name, f.refusal, items.size()};
    if (!e.refusal) {
      kb::IngestItem item;
      item.name = f.name;
      item.metadata_json = metadata;
      // Read from the spool when ingestion registers it, one file at a time (the sink lives as long as the item).
      item.read_bytes = [sink, &f] { return sink->read(f); };
      items.push_back(std::move(item));
    }
    entries.push_back(std::move(e));
  }
}

void collect_json(const Request& req, int64_t max_documents, std::vector<UploadEntry>& entries,
                  std::vector<kb::IngestItem>& items) {
  const json body = parse_body(req.body());
  for (const auto& [key, _] : body.items()) {
    if (key != "documents") {
      throw ApiError(Failure::kInvalidInput,
                     "unknown field \"" + key.substr(0, 64) + "\" (send {\"documents\": [...]})", key.substr(0, 64));
    }
  }
  auto docs = body.find("documents");
  if (docs == body.end() || !docs->is_array()) {
    throw ApiError(Failure::kInvalidInput, "documents is required: an array of {\"name\", \"text\", \"metadata\"?}",
                   "documents");
  }
  if (static_cast<int64_t>(docs->size()) > max_documents) {
    throw ApiError(Failure::kTooLarge,
                   "more than " + std::to_string(max_documents) +
                       " documents in one upload (--max-upload-files); send several requests",
                   "documents");
  }
  for (size_t i = 0; i < docs->size(); ++i) {
    const json& d = (*docs)[i];
    const std::string where = "documents[" + std::to_string(i) + "]";
    if (!d.is_object()) throw ApiError(Failure::kInvalidInput, where + " must be an object", "documents");
    for (const auto& [key, _] : d.items()) {
      if (key != "name" && key != "text" && key != "metadata" && key != "format") {
        throw ApiError(Failure::kInvalidInput,
                       "unknown field \"" + key.substr(0, 64) + "\" in " + where + " (name, text, metadata, format)",
                       "documents");
      }
    }
    const auto name = d.find("name");
    const auto text = d.find("text");
    if (name == d.end() || !name->is_string()) {
      throw ApiError(Failure::kInvalidInput, where + ".name is required (a string)", "documents");
    }
    if (text == d.end() || !text->is_string()) {
      throw ApiError(Failure::kInvalidInput, where + ".text is required (a string)", "documents");
    }
    // The text's format (markdown, html, text...): by default detected from the name's extension and the bytes.
    std::string format;
    if (const auto f = d.find("format"); f != d.end() && !f->is_null()) {
      if (!f->is_string()) throw ApiError(Failure::kInvalidInput, where + ".format must be a string", "documents");
      format = f->get<std::string>();
    }
    std::string metadata = "{}";
    if (const auto m = d.find("metadata"); m != d.end() && !m->is_null()) {
      if (!m->is_object()) throw ApiError(Failure::kInvalidInput, where + ".metadata must be an object", "documents");
      metadata = dump(*m);
    }
    UploadEntry e{name->get<std::string>(), document_name_from_file_name(name->get<std::string>()), std::nullopt,
                  items.size()};
    if (e.name.empty()) {
      e.refusal = FileRefusal{400, "the name \"" + e.file.substr(0, 200) + "\" has no name part"};
    } else {
      kb::IngestItem item;
      item.name = e.name;
      item.bytes = text->get<std::string>();
      item.metadata_json = std::move(metadata);
      item.format = std::move(format);
      items.push_back(std::move(item));
    }
    entries.push_back(std::move(e));
  }
}

//! Answers a waiting upload once every item is final (progress->mu held). The answer is made on a tokenization
//! worker: the outcome callbacks run on ingestion's threads and must stay short, and the job's own wait is then a
//! formality.
void answer_when_done(ApiEnv& env, const std::shared_ptr<UploadProgress>& progress) {
  CallPtr call = std::move(progress->waiting_call);
  if (!call) return;  // not waiting, or answered already
  boost::asio::post(env.work, [&env, call, progress] {
    try {
      env.kb().kb().ingestion().wait(progress->job_id);
      std::vector<std::optional<kb::IngestOutcome>> finals;
      {
        std::lock_guard lock(progress->mu);
        finals = progress->finals;
      }
      if (auto failure = unavailable_failure(progress->entries, finals)) throw *failure;
      kb_reply(env, call,
               upload_answer(progress->entries, finals, env.kb().kb().ingestion().job(progress->job_id),
                             progress->collection_name));
    } catch (const ApiError& e) {
      env.responder.reply_error(call, e);
    } catch (const std::exception& e) {
      log::error("request " + call->id + ": " + e.what());
      env.responder.reply_error(call,
                                ApiError(Failure::kServerFault, "internal error; the server log has the details"));
    }
  });
}

}  // namespace

std::shared_ptr<BodySink> upload_streamer(ApiEnv& env, const Request& header) {
  const auto content_type_field = header[http::field::content_type];
  const std::string_view content_type(content_type_field.data(), content_type_field.size());
  const std::optional<std::string> boundary = multipart_boundary(content_type);
  if (!boundary) {
    if (boost::beast::iequals(content_type_field.substr(0, 19), "multipart/form-data")) {
      throw ApiError(Failure::kMalformed, "a multipart/form-data body needs a valid boundary parameter");
    }
    return nullptr;  // JSON: buffered within --payload-limit
  }
  if (!env.has_kb()) return nullptr;  // not ready: the router answers 503 before this is used
  const std::string target(header.target());
  std::vector<std::string> params;
  if (!match_path_pattern(kUploadRoute, target.substr(0, target.find('?')), &params)) return nullptr;
  KnowledgeBaseHost& host = env.kb();
  if (!host.collection_known(params.at(0))) {
    throw ApiError(Failure::kNotFound, "no collection named '" + params[0].substr(0, 128) + "'", "collection");
  }
  if (!host.try_begin_upload()) {
    throw ApiError(Failure::kBusy, "the server is receiving its limit of " +
                                       std::to_string(host.options().max_uploads_at_once) +
                                       " uploads at once; retry later");
  }
  try {
    return std::make_shared<UploadSink>(host, *boundary);
  } catch (...) {
    host.end_upload();
    throw;
  }
}

void upload_documents(ApiEnv& env, const CallPtr& call, Request& req) {
  const kb::Collection collection = path_collection_for_model(env, *call);
  const bool wait = parse_wait(req);
  std::vector<UploadEntry> entries;
  std::vector<kb::IngestItem> items;
  std::shared_ptr<BodySink> streamed = call->exchange ? call->exchange->body_sink : nullptr;
  if (auto sink = std::dynamic_pointer_cast<UploadSink>(streamed)) {
    collect_multipart(sink, entries, items);
  } else {
    collect_json(req, env.options.max_upload_files, entries, items);
  }
  if (entries.empty()) {
    throw ApiError(Failure::kInvalidInput,
                   "the upload has no files: send multipart/form-data with file parts, or JSON {\"documents\": [...]}");
  }
  call->n_inputs = static_cast<int64_t>(entries.size());

  auto progress = std::make_shared<UploadProgress>();
  progress->finals.resize(items.size());
  progress->remaining = items.size();
  progress->entries = entries;
  progress->collection_name = collection.settings.name;
  if (wait) progress->waiting_call = call;
  KnowledgeBaseHost* host = &env.kb();
  ApiEnv* api = &env;
  kb::OutcomeFn on_outcome = [progress, host, api](const kb::IngestOutcome& o) {
    host->note_change();  // the /metrics document counts
    std::lock_guard lock(progress->mu);
    if (o.index >= progress->finals.size() || progress->finals[o.index]) return;
    progress->finals[o.index] = o;
    if (--progress->remaining == 0 && progress->submitted) answer_when_done(*api, progress);
  };
  const int64_t job_id =
      kb_call([&] { return env.kb().kb().ingestion().submit(collection, std::move(items), on_outcome); });
  // Every file was read during submit(): the spool and the upload's place among those at once go now, not when
  // the job (or a waiting answer) is done.
  if (call->exchange) call->exchange->body_sink.reset();
  env.kb().note_change();
  std::vector<std::optional<kb::IngestOutcome>> finals;
  {
    std::lock_guard lock(progress->mu);
    progress->submitted = true;
    progress->job_id = job_id;
    if (wait) {
      if (progress->remaining == 0) answer_when_done(env, progress);
      return;  // answered once the job is done
    }
    finals = progress->finals;
  }
  if (auto failure = unavailable_failure(entries, finals)) throw *failure;
  kb_reply(env, call, upload_answer(entries, finals, env.kb().kb().ingestion().job(job_id), collection.settings.name),
           202);
}

}  // namespace qembed::server::api
