#include "server/api/kb_upload.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "server/api/kb_api.hpp"
#include "server/api/kb_json.hpp"
#include "server/api/kb_names.hpp"
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
constexpr size_t kMaxPartHeaderBytes = 16 * 1024;
constexpr size_t kMaxMetadataBytes = 64 * 1024;
constexpr size_t kMaxFieldParts = 4;  // non-file parts (metadata) besides the files
//! What an upload sink holds in memory while it receives: the parser's header block and delimiter, the metadata
//! field, and the per-file records; reserved from the body budget instead of the body's size.
constexpr int64_t kUploadSinkMemoryBytes = 256 * 1024;

//! Refuses a whole upload while it streams, with an HTTP status (413 for too many files, 400 for a stray field).
struct UploadRefused : std::runtime_error {
  UploadRefused(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

//! A file refused at upload time: what it would have been answered alone.
struct FileRefusal {
  int status = 400;
  std::string message;
};

//! One file of a multipart upload: where its bytes lie in the spool file, its name as sent and as stored.
struct ReceivedFile {
  std::string file_name;  // as sent (Content-Disposition filename)
  std::string name;       // the document name (kb_names.hpp)
  int64_t offset = 0;     // in the spool file
  int64_t size_bytes = 0;
  std::optional<FileRefusal> refusal;
};

std::string mib_text(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

//! Receives a multipart upload: files appended to one spool file (created and unlinked at once, so it needs one
//! descriptor whatever the number of files and vanishes with the process), the metadata field in memory.
class UploadSink final : public BodySink, public PartSink {
 public:
  UploadSink(KnowledgeBaseHost& host, const std::string& boundary)
      : host_(host),
        parser_(boundary, MultipartLimits{static_cast<size_t>(host.options().max_upload_files) + kMaxFieldParts,
                                          kMaxPartHeaderBytes}),
        max_file_bytes_(host.options().max_upload_bytes),
        max_files_(static_cast<size_t>(host.options().max_upload_files)) {}
  ~UploadSink() override {
    if (spool_fd_ >= 0) ::close(spool_fd_);
    host_.end_upload();
  }

  // --- BodySink (the I/O thread)
  bool write(std::string_view bytes) override {
    try {
      parser_.feed(bytes, *this);
      return true;
    } catch (const UploadRefused& e) {
      failure_ = SinkFailure{e.status, e.what()};
    } catch (const MultipartError& e) {
      failure_ = SinkFailure{400, e.what()};
    } catch (const std::exception& e) {
      log::error(std::string("upload: ") + e.what());
      failure_ = SinkFailure{500, "the server could not receive the upload; the log has the details"};
    }
    return false;
  }
  bool finish() override {
    try {
      parser_.finish();
      return true;
    } catch (const MultipartError& e) {
      failure_ = SinkFailure{400, e.what()};
      return false;
    }
  }
  std::optional<SinkFailure> failure() const override { return failure_; }
  int64_t limit_bytes() const override {
    const auto files = static_cast<int64_t>(max_files_);
    return max_file_bytes_ * files + (files + static_cast<int64_t>(kMaxFieldParts)) * int64_t{kMaxPartHeaderBytes} +
           static_cast<int64_t>(kMaxMetadataBytes);
  }
  std::string limit_message() const override {
    return "the upload is larger than " + std::to_string(limit_bytes()) + " bytes (--max-upload-mb " +
           std::to_string(max_file_bytes_ >> 20) + " x --max-upload-files " + std::to_string(max_files_) +
           "); send fewer files per request";
  }
  int64_t memory_bytes() const override { return kUploadSinkMemoryBytes; }

  // --- PartSink
  void part_begin(const PartHeader& header) override {
    if (header.filename) {
      if (files_.size() >= max_files_) {
        throw UploadRefused(413, "more than " + std::to_string(max_files_) +
                                     " files in one upload (--max-upload-files); send them in several requests");
      }
      ReceivedFile f;
      f.file_name = *header.filename;
      f.name = document_name_from_file_name(*header.filename);
      f.offset = spool_bytes_;
      if (f.name.empty() && !f.file_name.empty()) {
        f.refusal = FileRefusal{400, "the file name \"" + f.file_name.substr(0, 200) +
                                         "\" has no name part (a document is named after the last path component)"};
      }
      files_.push_back(std::move(f));
      receiving_ = Receiving::kFile;
    } else if (header.name == "metadata") {
      if (metadata_seen_) throw UploadRefused(400, "the form field \"metadata\" appears twice");
      metadata_seen_ = true;
      receiving_ = Receiving::kMetadata;
    } else {
      throw UploadRefused(400, "unknown form field \"" + header.name.substr(0, 64) +
                                   "\": send each file as a part with a filename (field \"file\") and optionally "
                                   "\"metadata\" (a JSON object)");
    }
  }

  void part_data(std::string_view bytes) override {
    if (receiving_ == Receiving::kMetadata) {
      if (metadata_.size() + bytes.size() > kMaxMetadataBytes) {
        throw UploadRefused(
            413, "the form field \"metadata\" is larger than " + std::to_string(kMaxMetadataBytes) + " bytes");
      }
      metadata_.append(bytes);
      return;
    }
    ReceivedFile& f = files_.back();
    f.size_bytes += static_cast<int64_t>(bytes.size());
    if (f.refusal) return;  // counted for the message, never kept
    if (f.size_bytes > max_file_bytes_) {
      // Its bytes are the spool's last ones: give them back to the disk at once.
      f.refusal = FileRefusal{413, ""};  // the message names the final size (part_end)
      drop_spool_tail(f.offset);
      return;
    }
    if (!append_to_spool(bytes)) {
      f.refusal = FileRefusal{500, "the server could not store this file: " + spool_error_ + " (the log has more)"};
      drop_spool_tail(f.offset);
    }
  }

  void part_end() override {
    if (receiving_ == Receiving::kFile) {
      ReceivedFile& f = files_.back();
      if (f.file_name.empty() && f.size_bytes == 0) {
        files_.pop_back();  // a form's file input with no file chosen: browsers send filename="" and no bytes
      } else if (f.refusal && f.refusal->status == 413) {
        f.refusal->message = f.name + " is " + std::to_string(f.size_bytes) + " bytes, above the upload limit of " +
                             mib_text(max_file_bytes_) + " (--max-upload-mb)";
      } else if (f.name.empty() && !f.refusal) {
        f.refusal = FileRefusal{400, "a file part with an empty file name"};
      }
    }
    receiving_ = Receiving::kNothing;
  }

  // --- after the body arrived (a tokenization worker)
  const std::vector<ReceivedFile>& files() const { return files_; }
  const std::string& metadata() const { return metadata_; }
  bool has_metadata() const { return metadata_seen_; }
  //! The bytes of one received file (read back from the spool).
  std::string read(const ReceivedFile& f) const {
    std::string bytes(static_cast<size_t>(f.size_bytes), '\0');
    int64_t done = 0;
    while (done < f.size_bytes) {
      const ssize_t n = ::pread(spool_fd_, bytes.data() + done, static_cast<size_t>(f.size_bytes - done),
                                static_cast<off_t>(f.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw IoError("cannot read back the uploaded file " + f.name + ": " + std::strerror(n < 0 ? errno : EIO));
      done += n;
    }
    return bytes;
  }

 private:
  enum class Receiving { kNothing, kFile, kMetadata };

  bool append_to_spool(std::string_view bytes) {
    if (spool_fd_ < 0 && !open_spool()) return false;
    while (!bytes.empty()) {
      const ssize_t n = ::write(spool_fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spool_error_ = std::strerror(n < 0 ? errno : EIO);
        log::error("upload: cannot write its temporary file in " + host_.upload_dir() + ": " + spool_error_);
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
      spool_bytes_ += n;
    }
    return true;
  }

  //! Forgets the spool's bytes from `offset` on (a file refused while it streamed).
  void drop_spool_tail(int64_t offset) {
    if (spool_fd_ < 0 || spool_bytes_ <= offset) return;
    if (::ftruncate(spool_fd_, static_cast<off_t>(offset)) == 0 &&
        ::lseek(spool_fd_, static_cast<off_t>(offset), SEEK_SET) == static_cast<off_t>(offset)) {
      spool_bytes_ = offset;
    }
  }

  bool open_spool() {
    std::string path = host_.upload_dir() + "/" + host_.upload_prefix() + "XXXXXX";
    spool_fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (spool_fd_ < 0) {
      spool_error_ = std::strerror(errno);
      log::error("upload: cannot create a temporary file in " + host_.upload_dir() + ": " + spool_error_);
      return false;
    }
    ::unlink(path.c_str());  // nameless from now on: it goes when the descriptor is closed, or the process dies
    return true;
  }

  KnowledgeBaseHost& host_;
  MultipartParser parser_;
  const int64_t max_file_bytes_;
  const size_t max_files_;
  std::optional<SinkFailure> failure_;
  std::vector<ReceivedFile> files_;
  Receiving receiving_ = Receiving::kNothing;
  std::string metadata_;
  bool metadata_seen_ = false;
  int spool_fd_ = -1;
  int64_t spool_bytes_ = 0;
  std::string spool_error_;
};

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
  kb_reply(env, call, upload_answer(entries, finals, env.kb().kb().ingestion().job(job_id), collection.settings.name),
           202);
}

}  // namespace qembed::server::api
