#pragma once
// Receiving a multipart upload (kb_upload.hpp has the route): the transport feeds the body to this sink as it
// arrives; the multipart parser (server/http/multipart.hpp) hands it the parts. Files are appended to one spool file
// beside the database, created and unlinked at once (one descriptor whatever the number of files, never a name the
// client chose, gone with the process); each is capped by --max-upload-mb (a file past it is refused alone and its
// bytes dropped as they arrive), the files by --max-upload-files, the body by their product. The "metadata" field
// is kept in memory (64 KiB at most); any other field refuses the upload.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http_server.hpp"
#include "server/http/multipart.hpp"
#include "server/kb_host.hpp"

namespace qembed::server::api {

//! A file refused at upload time: what it would have been answered alone (413 too large, 400 no name).
struct FileRefusal {
  int status = 400;
  std::string message;
};

//! One file of a multipart upload: where its bytes lie in the spool file, its name as sent and as stored.
struct ReceivedFile {
  std::string file_name;  //!< as sent (Content-Disposition filename)
  std::string name;       //!< the document name (kb_names.hpp)
  int64_t offset = 0;     //!< in the spool file
  int64_t size_bytes = 0;
  std::optional<FileRefusal> refusal;
};

class UploadSink final : public BodySink, public PartSink {
 public:
  //! Holds one of the host's uploads at once (taken by the caller with try_begin_upload) until destroyed.
  UploadSink(KnowledgeBaseHost& host, const std::string& boundary);
  ~UploadSink() override;

  // BodySink (the connection's I/O thread)
  bool write(std::string_view bytes) override;
  bool finish() override;
  std::optional<SinkFailure> failure() const override { return failure_; }
  int64_t limit_bytes() const override;
  std::string limit_message() const override;
  int64_t memory_bytes() const override;

  // PartSink
  void part_begin(const PartHeader& header) override;
  void part_data(std::string_view bytes) override;
  void part_end() override;

  // Once the body arrived (a tokenization worker)
  const std::vector<ReceivedFile>& files() const { return files_; }
  const std::string& metadata() const { return metadata_; }
  bool has_metadata() const { return metadata_seen_; }
  //! The bytes of one received file, read back from the spool (IoError when it cannot be read).
  std::string read(const ReceivedFile& f) const;

 private:
  enum class Receiving { kNothing, kFile, kMetadata };
  bool append_to_spool(std::string_view bytes);
  //! Forgets the spool's bytes from `offset` on (a file refused while it streamed).
  void drop_spool_tail(int64_t offset);
  bool open_spool();

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

}  // namespace qembed::server::api
