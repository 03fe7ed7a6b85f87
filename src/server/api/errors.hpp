#pragma once
// Failures as the API reports them: what went wrong (a Failure), mapped to an HTTP status and an error body once
// per dialect, here and nowhere else:
//   OpenAI  {"error": {"message", "type", "param", "code"}}
//   TEI     {"error": "<message>", "error_type": "Validation" | "Overloaded" | "Unhealthy" | ...}
//   Ollama  {"error": "<message>"}   (ollama-js prints a non-string error as "[object Object]")
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/error.hpp"

namespace qembed::server::api {

//! The API a route speaks: its request fields, response shape and error shape.
enum class Dialect { kOpenAI, kTEI, kOllama };

enum class Failure {
  kMalformed,         //!< unreadable request: invalid JSON or UTF-8, malformed HTTP
  kHeaderTooLarge,    //!< the request header is over the transport's limit (431)
  kTimeout,           //!< the request body did not arrive in time (408)
  kInvalidInput,      //!< a field's type or value is wrong (empty text, bad dimensions, unknown prompt)
  kInputTooLong,      //!< an input over the token limit without truncation
  kTooLarge,          //!< body, inputs or tokens over a bound of one request
  kUnauthenticated,   //!< no valid API key
  kForbidden,         //!< a valid key whose role does not cover the route
  kRouteNotFound,     //!< no such route
  kModelNotFound,     //!< the request names another model, or needs one the server does not load
  kWrongModel,        //!< the request names (or needs) a model of the other role: embedding vs reranker (400)
  kMethodNotAllowed,  //!< the route exists with another method
  kNotFound,          //!< a thing the path names does not exist (a knowledge-base collection, document, job)
  kConflict,          //!< the request contradicts the current state (a name taken, a collection of another model)
  kBusy,              //!< concurrency slots, queue or body budget full: retry later
  kRateLimited,       //!< the client is over its --request-rate-limit / --token-rate-limit: retry after Retry-After
  kUnavailable,       //!< loading or shutting down
  kClientGone,        //!< the client closed the connection (logged as 499, never sent)
  kServerFault,       //!< I/O or internal failure: never the client's fault
};

//! A failure on its way to the client. `param`: the request field at fault ("" -> null); `code`: a
//! machine-readable code for OpenAI clients ("" -> derived from the failure); `type`: OpenAI's error type ("" ->
//! derived; rate limits say "requests" or "tokens" as OpenAI does); `retry_after_s`: the Retry-After of a 429/503
//! (0 -> 1 s).
struct ApiError : std::runtime_error {
  ApiError(Failure failure, const std::string& message, std::string param = "", std::string code = "")
      : std::runtime_error(message), failure(failure), param(std::move(param)), code(std::move(code)) {}
  Failure failure;
  std::string param;
  std::string code;
  std::string type;
  int64_t retry_after_s = 0;
};

inline constexpr size_t kMaxErrorMessageBytes = 1024;

//! The HTTP status of a failure in a dialect (e.g. kInvalidInput: 400 OpenAI/Ollama, 422 TEI).
int status_of(Failure failure, Dialect dialect);
//! The error body of a failure in a dialect. A message is cut at kMaxErrorMessageBytes: it may quote what the client
//! sent (a model name, a field value), and an error response must stay small whatever the request was.
std::string error_body(Dialect dialect, const ApiError& e);
//! A service Error as an ApiError: the kind says whose fault it is (kInvalidInput and kLimit from encode() are the
//! client's; kIo and kInternal are the server's, reported with a safe message).
ApiError from_service_error(const Error& e);

}  // namespace qembed::server::api
