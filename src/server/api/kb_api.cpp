#include "server/api/kb_api.hpp"

#include "common/log.hpp"
#include "server/api/response_writers.hpp"

namespace qembed::server::api {

ApiError kb_error(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kInvalidInput:
      return ApiError(Failure::kInvalidInput, e.what());
    case ErrorKind::kLimit: {
      const std::string msg = e.what();
      if (msg.find("tokens, the limit is") != std::string::npos) return ApiError(Failure::kInputTooLong, msg, "query");
      return ApiError(Failure::kBusy, msg + "; retry later");
    }
    case ErrorKind::kIo:
      log::error(std::string("knowledge base storage: ") + e.what());
      return ApiError(Failure::kServerFault, "the knowledge base's storage failed; the server log has the details");
    case ErrorKind::kInternal:
      log::error(std::string("knowledge base: ") + e.what());
      return ApiError(Failure::kServerFault, "internal error; the server log has the details");
    case ErrorKind::kUnavailable: {
      // The database is restarting or unreachable: 503 with Retry-After, which load balancers and clients retry.
      ApiError out(Failure::kUnavailable, e.what());
      out.retry_after_s = 2;
      return out;
    }
  }
  return ApiError(Failure::kServerFault, "internal error");
}

kb::Collection path_collection(ApiEnv& env, const Call& call) {
  const std::string& name = call.path_params.at(0);
  std::optional<kb::Collection> c = kb_call([&] { return env.kb().kb().store().find_collection(name); });
  if (!c) throw ApiError(Failure::kNotFound, "no collection named '" + name.substr(0, 128) + "'", "collection");
  return *c;
}

bool collection_matches_model(ApiEnv& env, const kb::Collection& collection) {
  try {
    kb::check_collection_model(collection, kb::model_identity_of(env.service()));
    return true;
  } catch (const Error&) {
    return false;
  }
}

kb::Collection path_collection_for_model(ApiEnv& env, const Call& call) {
  kb::Collection c = path_collection(env, call);
  try {
    kb::check_collection_model(c, kb::model_identity_of(env.service()));
  } catch (const Error& e) {
    throw ApiError(Failure::kConflict, e.what(), "collection");
  }
  return c;
}

void kb_reply(ApiEnv& env, const CallPtr& call, const nlohmann::json& value, int status) {
  std::string body = dump(value);
  const int64_t bytes = static_cast<int64_t>(body.size());
  if (bytes > kSmallResponseBytes)
    reserve_response(env, call, bytes, "the response of " + std::to_string(bytes) + " bytes");
  json_reply(env, call, std::move(body), status);
}

}  // namespace qembed::server::api
