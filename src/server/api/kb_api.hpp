#pragma once
// What the knowledge base's route files (kb_routes.cpp, kb_upload.cpp) share: knowledge-base failures as API
// errors, the collection a path names, and answers that may be larger than a small response.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "kb/knowledge_base.hpp"
#include "server/api/api.hpp"

namespace qembed::server::api {

//! A knowledge-base Error as an ApiError: kInvalidInput is the client's (400), kLimit a busy store or service (429,
//! retry; a query over the token limit stays 400), kIo and kInternal the server's (500, logged with the real
//! message; the client gets a safe one).
ApiError kb_error(const Error& e);

//! Runs a knowledge-base call, turning its Errors into ApiErrors (kb_error).
template <class F>
auto kb_call(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw kb_error(e);
  }
}

//! The collection named by the route's first path parameter: 404 when there is none.
kb::Collection path_collection(ApiEnv& env, const Call& call);
//! The same, also built with the loaded model: 409 naming both models otherwise.
kb::Collection path_collection_for_model(ApiEnv& env, const Call& call);
//! Whether `collection` was built with the loaded model.
bool collection_matches_model(ApiEnv& env, const kb::Collection& collection);

//! Answers a JSON value; a body larger than a small response is first reserved from the response budget (429 when
//! it is used up now, 413 when it could never fit).
void kb_reply(ApiEnv& env, const CallPtr& call, const nlohmann::json& value, int status = 200);

}  // namespace qembed::server::api
