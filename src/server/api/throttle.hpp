#pragma once
// The per-client rate limits as the API answers them (the buckets are server/rate_limit.hpp's). Each check adds
// OpenAI's X-RateLimit-{Limit,Remaining,Reset}-{Requests,Tokens} headers to the call's response and, when the
// client is over its limit, throws a kRateLimited ApiError (429 in every dialect) whose Retry-After is the whole
// seconds, rounded up, until the request would pass. Both do nothing when the limit is off or the call has no client.
#include <cstdint>

#include "server/api/api.hpp"

namespace qembed::server::api {

//! One request of the call's client (App::dispatch, for routes that take a slot, after the key check).
void throttle_request(ApiEnv& env, Call& call);
//! The request's input tokens, once counted (after encode, before submit). A request with more tokens than the
//! whole burst could never pass: kTooLarge (413) saying so, not a 429.
void throttle_tokens(ApiEnv& env, Call& call, int64_t n_tokens);

}  // namespace qembed::server::api
