#include "server/api/kb_upload_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/log.hpp"
#include "server/api/kb_names.hpp"

namespace qembed::server::api {

namespace {

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

std::string mib_text(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

UploadSink::UploadSink(KnowledgeBaseHost& host, const std::string& boundary)
    : host_(host),
      parser_(boundary, MultipartLimits{static_cast<size_t>(host.options().max_upload_files) + kMaxFieldParts,
                                        kMaxPartHeaderBytes}),
      max_file_bytes_(host.options().max_upload_bytes),
      max_files_(static_cast<size_t>(host.options().max_upload_files)) {}

UploadSink::~UploadSink() {
  if (spool_fd_ >= 0) ::close(spool_fd_);
  host_.end_upload();
}

bool UploadSink::write(std::string_view bytes) {
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

bool UploadSink::finish() {
  try {
    parser_.finish();
    return true;
  } catch (const MultipartError& e) {
    failure_ = SinkFailure{400, e.what()};
    return false;
  }
}

int64_t UploadSink::limit_bytes() const {
  const auto files = static_cast<int64_t>(max_files_);
  return max_file_bytes_ * files + (files + static_cast<int64_t>(kMaxFieldParts)) * int64_t{kMaxPartHeaderBytes} +
         static_cast<int64_t>(kMaxMetadataBytes);
}

int64_t UploadSink::memory_bytes() const { return kUploadSinkMemoryBytes; }

std::string UploadSink::limit_message() const {
  return "the upload is larger than " + std::to_string(limit_bytes()) + " bytes (--max-upload-mb " +
         std::to_string(max_file_bytes_ >> 20) + " x --max-upload-files " + std::to_string(max_files_) +
         "); send fewer files per request";
}

void UploadSink::part_begin(const PartHeader& header) {
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

void UploadSink::part_data(std::string_view bytes) {
  if (receiving_ == Receiving::kMetadata) {
    if (metadata_.size() + bytes.size() > kMaxMetadataBytes) {
      throw UploadRefused(413,
                          "the form field \"metadata\" is larger than " + std::to_string(kMaxMetadataBytes) + " bytes");
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

void UploadSink::part_end() {
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

std::string UploadSink::read(const ReceivedFile& f) const {
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

bool UploadSink::append_to_spool(std::string_view bytes) {
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
void UploadSink::drop_spool_tail(int64_t offset) {
  if (spool_fd_ < 0 || spool_bytes_ <= offset) return;
  if (::ftruncate(spool_fd_, static_cast<off_t>(offset)) == 0 &&
      ::lseek(spool_fd_, static_cast<off_t>(offset), SEEK_SET) == static_cast<off_t>(offset)) {
    spool_bytes_ = offset;
  }
}

bool UploadSink::open_spool() {
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

}  // namespace qembed::server::api
