#pragma once
// Failures with a kind. The kind decides how a boundary reports a failure, once, in one place: the CLI prints the
// message and exits 1; HTTP maps the kind to a status (server/api/errors.cpp):
//   kInvalidInput -> 400/422 (the client's fault: bad text, field, flag, file the user named)
//   kLimit        -> 413/429/503 (a bound was hit: too many tokens, queue full, shutting down)
//   kUnavailable  -> 503 + Retry-After (a service this one depends on — the knowledge-base database — is
//                    unreachable or restarting; the same request may succeed later)
//   kIo           -> 500 with a safe message (disk, database, network: never the client's fault)
//   kInternal     -> 500, logged (a bug; the message is for the log, the client gets a generic one)
// Broken internal invariants inside hot code still use assert.
#include <stdexcept>
#include <string>

namespace qembed {

enum class ErrorKind { kInvalidInput, kLimit, kIo, kInternal, kUnavailable };

//! A failure with a user-facing message. what() is the full message; kind() says whose fault it is.
//! `Error(msg)` is an invalid-input error, the common case for parsers of outside bytes.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::kInvalidInput)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

//! A bound was reached (tokens, inputs, queue, memory): retrying later or with less may succeed.
inline Error LimitError(const std::string& message) { return Error(message, ErrorKind::kLimit); }
//! A dependency (the knowledge-base database) is unreachable or restarting: retry the same request later.
inline Error UnavailableError(const std::string& message) { return Error(message, ErrorKind::kUnavailable); }
//! Storage or network failed (reading a file that passed validation, a database, a socket).
inline Error IoError(const std::string& message) { return Error(message, ErrorKind::kIo); }
//! A bug: a state the code should never reach.
inline Error InternalError(const std::string& message) { return Error(message, ErrorKind::kInternal); }

//! The kind's name for logs and metrics ("invalid_input", "limit", "io", "internal", "unavailable").
inline const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "invalid_input";
    case ErrorKind::kLimit:
      return "limit";
    case ErrorKind::kIo:
      return "io";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

}  // namespace qembed
