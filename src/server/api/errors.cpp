#include "server/api/errors.hpp"

#include <nlohmann/json.hpp>

namespace qembed::server::api {

using nlohmann::json;

namespace {

// OpenAI's error "type" and default "code".
const char* openai_type(Failure f) {
  switch (f) {
    case Failure::kUnauthenticated:
      return "authentication_error";
    case Failure::kForbidden:
      return "permission_error";
    case Failure::kRouteNotFound:
    case Failure::kModelNotFound:
    case Failure::kNotFound:
      return "not_found_error";
    case Failure::kBusy:
    case Failure::kRateLimited:
      return "rate_limit_error";
    case Failure::kUnavailable:
    case Failure::kServerFault:
    case Failure::kClientGone:
      return "server_error";
    default:
      return "invalid_request_error";
  }
}

const char* openai_code(Failure f) {
  switch (f) {
    case Failure::kMalformed:
    case Failure::kInvalidInput:
      return "invalid_request";
    case Failure::kHeaderTooLarge:
      return "request_header_too_large";
    case Failure::kTimeout:
      return "request_timeout";
    case Failure::kInputTooLong:
      return "context_length_exceeded";
    case Failure::kTooLarge:
      return "payload_too_large";
    case Failure::kUnauthenticated:
      return "invalid_api_key";
    case Failure::kForbidden:
      return "insufficient_permissions";
    case Failure::kRouteNotFound:
    case Failure::kNotFound:
      return "not_found";
    case Failure::kConflict:
      return "conflict";
    case Failure::kModelNotFound:
      return "model_not_found";
    case Failure::kWrongModel:
      return "model_not_supported";
    case Failure::kMethodNotAllowed:
      return "method_not_allowed";
    case Failure::kBusy:
    case Failure::kRateLimited:
      return "rate_limit_exceeded";
    case Failure::kUnavailable:
      return "service_unavailable";
    case Failure::kClientGone:
      return "client_closed_request";
    case Failure::kServerFault:
      return "internal_error";
  }
  return "internal_error";
}

// TEI's error_type (router/src/lib.rs ErrorType, plus the HTTP-level ones it answers without a type).
const char* tei_type(Failure f) {
  switch (f) {
    case Failure::kMalformed:
    case Failure::kHeaderTooLarge:
    case Failure::kTimeout:
    case Failure::kInvalidInput:
    case Failure::kInputTooLong:
    case Failure::kTooLarge:
      return "Validation";
    case Failure::kBusy:
    case Failure::kRateLimited:
      return "Overloaded";
    case Failure::kUnavailable:
      return "Unhealthy";
    case Failure::kServerFault:
    case Failure::kClientGone:
      return "Backend";
    case Failure::kUnauthenticated:
      return "Unauthorized";
    case Failure::kForbidden:
      return "Forbidden";
    case Failure::kRouteNotFound:
    case Failure::kModelNotFound:
    case Failure::kNotFound:
      return "NotFound";
    case Failure::kConflict:
    case Failure::kWrongModel:
      return "Validation";
    case Failure::kMethodNotAllowed:
      return "MethodNotAllowed";
  }
  return "Backend";
}

}  // namespace

int status_of(Failure f, Dialect d) {
  switch (f) {
    case Failure::kMalformed:
    case Failure::kWrongModel:  // 400 in TEI too: the route exists, the server's model cannot serve it
      return 400;
    case Failure::kHeaderTooLarge:
      return 431;
    case Failure::kTimeout:
      return 408;
    case Failure::kInvalidInput:
    case Failure::kInputTooLong:
      return d == Dialect::kTEI ? 422 : 400;
    case Failure::kTooLarge:
      return 413;
    case Failure::kUnauthenticated:
      return 401;
    case Failure::kForbidden:
      return 403;
    case Failure::kRouteNotFound:
    case Failure::kModelNotFound:
    case Failure::kNotFound:
      return 404;
    case Failure::kConflict:
      return 409;
    case Failure::kMethodNotAllowed:
      return 405;
    case Failure::kBusy:
      return d == Dialect::kOllama ? 503 : 429;  // Ollama answers 503 when its queue is full
    case Failure::kRateLimited:
      return 429;  // this client's own limit, not the server's load: 429 in every dialect
    case Failure::kUnavailable:
      return 503;
    case Failure::kClientGone:
      return 499;  // nginx's "client closed request": logged and counted, never seen by a client
    case Failure::kServerFault:
      return 500;
  }
  return 500;
}

std::string error_body(Dialect d, const ApiError& e) {
  std::string message = e.what();
  if (message.size() > kMaxErrorMessageBytes) message = message.substr(0, kMaxErrorMessageBytes) + "...";
  json body;
  switch (d) {
    case Dialect::kOpenAI:
      body = {{"error",
               {{"message", message},
                {"type", e.type.empty() ? openai_type(e.failure) : e.type},
                {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                {"code", e.code.empty() ? openai_code(e.failure) : e.code}}}};
      break;
    case Dialect::kTEI:
      body = {{"error", message}, {"error_type", tei_type(e.failure)}};
      break;
    case Dialect::kOllama:
      body = {{"error", message}};
      break;
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiError from_service_error(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kInvalidInput:
      return ApiError(Failure::kInvalidInput, e.what());
    case ErrorKind::kLimit:
      return ApiError(Failure::kInputTooLong, e.what());
    case ErrorKind::kIo:
      return ApiError(Failure::kServerFault, "the server failed to read its data; the server log has the details");
    case ErrorKind::kInternal:
      return ApiError(Failure::kServerFault, "internal error; the server log has the details");
    case ErrorKind::kUnavailable:
      return ApiError(Failure::kUnavailable, e.what());
  }
  return ApiError(Failure::kServerFault, "internal error");
}

}  // namespace qembed::server::api
