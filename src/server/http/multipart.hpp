#pragma once
// An incremental multipart/form-data parser (RFC 7578 over RFC 2046's multipart syntax). It is fed a body in chunks
// of any size, as they arrive from the socket, and reports each part's header and then its bytes to a PartSink. It
// keeps only one part's header block and a delimiter's length of body bytes (to recognise a delimiter split across
// two chunks), so an upload of any size streams through a small, fixed amount of memory.
//
// Malformed input (no opening delimiter, a header block over its limit, a part without Content-Disposition, too many
// parts, a body that ends inside a part) is a MultipartError naming what and at which byte of the body; nothing a
// client sends can crash the parser, grow it past its limits or make it loop. Once failed, it stays failed.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qembed::server {

//! The body is not valid multipart/form-data (the client's fault).
struct MultipartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

//! One part's header: Content-Disposition's name and filename, and its Content-Type.
struct PartHeader {
  std::string name;  //!< the form field's name ("" when absent)
  //! Set for file parts: `filename*=UTF-8''...` (RFC 5987, percent-decoded) when given, else `filename="..."`, as
  //! the client sent it (it may hold any bytes, "../" included: what a receiver does with it is its own business).
  std::optional<std::string> filename;
  std::string content_type;  //!< "" when absent
};

//! Receives the parts, in order: part_begin, any number of part_data, part_end. A sink may throw MultipartError to
//! refuse the body (e.g. an unknown field); the parser then fails with that message.
class PartSink {
 public:
  virtual ~PartSink() = default;
  virtual void part_begin(const PartHeader& header) = 0;
  virtual void part_data(std::string_view bytes) = 0;
  virtual void part_end() = 0;
};

struct MultipartLimits {
  size_t max_parts = 1024;              //!< parts in one body
  size_t max_header_bytes = 16 * 1024;  //!< one part's header block, CRLFs included
};

//! The boundary of a `multipart/form-data; boundary=...` Content-Type (type and parameter names case-insensitive,
//! the value a token or a quoted string); nullopt for another type or a missing or invalid boundary (RFC 2046:
//! 1 to 70 characters).
std::optional<std::string> multipart_boundary(std::string_view content_type);

class MultipartParser {
 public:
  //! `boundary` as multipart_boundary() returns it (1 to 70 characters; std::invalid_argument otherwise).
  explicit MultipartParser(std::string_view boundary, MultipartLimits limits = {});

  //! Parses the next bytes of the body; part events go to `sink`. Throws MultipartError when the body is malformed.
  void feed(std::string_view bytes, PartSink& sink);
  //! The body ended: throws MultipartError unless the closing delimiter was seen.
  void finish();

  //! The closing delimiter was seen (what follows is the epilogue, ignored).
  bool done() const { return state_ == State::kEpilogue; }
  //! Parts begun so far.
  size_t parts() const { return parts_; }
  //! Bytes fed so far.
  uint64_t consumed_bytes() const { return consumed_; }
  //! Bytes held between two feeds (at most a header block, or a delimiter's length inside a part's body).
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue, kFailed };
  //! Consumes what it can of buffer_; false when it needs more bytes.
  bool step(PartSink& sink);
  [[noreturn]] void fail(const std::string& what);
  //! Offset in the body of buffer_[i] (for messages).
  uint64_t offset_of(size_t i) const;

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  // Unconsumed bytes. The body is parsed as if it started with "\r\n", so a delimiter on the very first line is
  // found the same way as every other one.
  std::string buffer_ = "\r\n";
  uint64_t consumed_ = 0;  // bytes fed
  size_t parts_ = 0;
  bool in_part_ = false;
};

}  // namespace qembed::server
