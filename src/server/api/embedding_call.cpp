// The model path shared by every dialect and by reranking: the worst-case response reserved, service.encode() (or
// encode_rerank) and service.submit() on a tokenization worker, and the answer formatted back on a tokenization worker
// once the service's worker calls back (the worker goes straight to its next batch; the I/O threads only do HTTP).
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cmath>
#include <optional>

#include "common/log.hpp"
#include "server/api/api.hpp"
#include "server/api/throttle.hpp"

namespace qembed::server::api {

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

//! Names an input the way the request spelled it: a leading "input 3 ..." becomes "input[3] ..." (or "inputs[3]"
//! for TEI), and the error's param is the field at fault when the message starts with one.
ApiError encode_error(const Error& e, const std::string& input_field) {
  ApiError out = from_service_error(e);
  if (out.failure == Failure::kServerFault) return out;
  std::string msg = e.what();
  if (msg.rfind("input ", 0) == 0 && msg.size() > 6 && std::isdigit(static_cast<unsigned char>(msg[6]))) {
    size_t end = 6;
    while (end < msg.size() && std::isdigit(static_cast<unsigned char>(msg[end]))) ++end;
    msg = input_field + "[" + msg.substr(6, end - 6) + "]" + msg.substr(end);
  } else if (msg.rfind("input[", 0) == 0 && input_field != "input") {
    msg = input_field + msg.substr(5);
  }
  std::string param = input_field;
  if (msg.rfind(input_field + "[", 0) != 0) {
    if (msg.find("dimensions") != std::string::npos) {
      param = "dimensions";
    } else if (msg.find("prompt name") != std::string::npos || msg.find("prompt_name") != std::string::npos) {
      param = "prompt_name";
    } else if (msg.find("instruction") != std::string::npos) {
      param = "instruction";
    }
  }
  std::string code = out.failure == Failure::kInputTooLong ? "context_length_exceeded" : "";
  return ApiError(out.failure, msg, param, code);
}

std::string n_str(int64_t n) { return std::to_string(n); }

}  // namespace

void reserve_response(ApiEnv& env, const CallPtr& call, int64_t bytes, const std::string& what) {
  switch (env.responses.try_reserve(bytes)) {
    case ByteBudget::Outcome::kReserved:
      call->response_reserved += bytes;
      return;
    case ByteBudget::Outcome::kBusy:
      throw ApiError(Failure::kBusy, "the server is holding its limit of " + n_str(env.responses.limit()) +
                                         " response bytes for clients (--max-response-buffer-mb); retry later");
    case ByteBudget::Outcome::kTooLarge:
      throw ApiError(Failure::kTooLarge, what + " could take up to " + n_str(bytes) +
                                             " bytes; the server buffers at most " + n_str(env.responses.limit()) +
                                             " bytes of responses (--max-response-buffer-mb); send fewer inputs");
  }
}

int64_t max_embedding_response_bytes(const ApiEnv& env, int64_t n_inputs, int64_t dims, bool base64) {
  // A float as the shortest round-trip text is at most 15 characters ("-1.17549435e-38" has 9 digits, sign, point
  // and exponent), plus a comma; base64 is 4 characters per 3 bytes. Around each vector at most ~64 bytes of
  // wrapping ({"object":"embedding","index":N,"embedding":...}); around the list the model id (escaped: up to 6
  // bytes a byte), usage, durations and the HTTP header, within 1 KiB.
  const int64_t vector = base64 ? (dims * 4 + 2) / 3 * 4 + 2 : dims * 16 + 2;
  const auto id_bytes = static_cast<int64_t>(env.model().id.size()) * 6;
  return 1024 + id_bytes + n_inputs * (64 + vector);
}

void run_embedding(ApiEnv& env, const CallPtr& call, const service::EmbedInputs& inputs,
                   const service::EmbedParams& params, const std::string& input_field, Formatter format) {
  run_embedding(env, call, inputs, params, input_field, false, std::move(format));
}

void run_embedding(ApiEnv& env, const CallPtr& call, const service::EmbedInputs& inputs,
                   const service::EmbedParams& params, const std::string& input_field, bool base64, Formatter format) {
  service::EmbeddingService& svc = env.service();
  // The response's worst case is known before any work: reserve it first, so a request whose answer could not be
  // held is refused before it is tokenized or computed. A `dimensions` out of range fails in encode() below.
  const int64_t n_embd = env.model().n_embd;
  const int64_t dims = params.dimensions > 0 && params.dimensions < n_embd ? params.dimensions : n_embd;
  const auto n_in = static_cast<int64_t>(inputs.size());
  reserve_response(env, call, max_embedding_response_bytes(env, n_in, dims, base64),
                   "the response to " + n_str(n_in) + " inputs of " + n_str(dims) + " dimensions" +
                       (base64 ? " in base64" : " as text"));
  const Clock::time_point t0 = Clock::now();
  service::EncodedRequest request;
  try {
    request = svc.encode(inputs, params);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kIo || e.kind() == ErrorKind::kInternal) {
      log::error("encoding request " + call->id + " failed: " + e.what());
    }
    throw encode_error(e, input_field);
  }
  call->tokenize_ms = ms_between(t0, Clock::now());
  submit_encoded(env, call, svc, std::move(request), std::move(format));
}

void submit_encoded(ApiEnv& env, const CallPtr& call, service::EmbeddingService& svc, service::EncodedRequest request,
                    Formatter format) {
  call->n_inputs = static_cast<int64_t>(request.seqs.size());
  call->n_tokens = request.n_tokens;
  throttle_tokens(env, *call, request.n_tokens);
  for (const auto& s : request.seqs) env.metrics.input_length(static_cast<int64_t>(s.size()));
  const int64_t n_tokens = request.n_tokens;
  const auto n_inputs = static_cast<int64_t>(request.seqs.size());

  // Runs on the service's worker: hand the formatting to a tokenization worker.
  auto done = [&env, call, format = std::move(format)](service::EmbedResult result, const Error* error) {
    std::optional<ApiError> failure;
    if (error) {
      if (*call->exchange->client_gone) {
        failure.emplace(Failure::kClientGone, "the client closed the connection");
      } else if (error->kind() == ErrorKind::kLimit) {
        failure.emplace(Failure::kUnavailable, std::string("the server is shutting down: ") + error->what());
      } else {
        if (error->kind() != ErrorKind::kInvalidInput) log::error("request " + call->id + " failed: " + error->what());
        failure.emplace(from_service_error(*error));
      }
    }
    boost::asio::post(
        env.work, [&env, call, format, failure = std::move(failure), result = std::move(result)]() mutable {
          call->queue_ms = result.queue_ms;
          call->compute_ms = result.compute_ms;
          env.metrics.embed_timings(call->tokenize_ms / 1000, result.queue_ms / 1000, result.compute_ms / 1000);
          if (failure) return env.responder.reply_error(call, *failure);
          try {
            json_reply(env, call, format(result));
          } catch (const std::exception& e) {
            env.responder.reply_error(
                call, ApiError(Failure::kServerFault, std::string("could not format the response: ") + e.what()));
          }
        });
  };

  const service::ServiceOptions& so = svc.options();
  const int64_t queue_tokens = so.max_queue_tokens > 0 ? so.max_queue_tokens : 16 * so.max_batch_tokens;
  const auto work = static_cast<int64_t>(std::ceil(svc.work_of(request)));
  switch (svc.submit(std::move(request), std::move(done), call->exchange->client_gone)) {
    case service::Admission::kQueued:
      return;
    case service::Admission::kBusy: {
      ApiError e(Failure::kBusy, "the queue is full (" + n_str(queue_tokens) + " tokens, " + n_str(so.max_queue_work) +
                                     " token-equivalents of work); retry later");
      const double wait_s = svc.seconds_until_room(work);
      if (wait_s > 0) e.retry_after_s = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(wait_s)), 1, 600);
      throw e;
    }
    case service::Admission::kTooLarge:
      throw ApiError(Failure::kTooLarge,
                     "the request has " + n_str(n_tokens) + " tokens (" + n_str(work) +
                         " token-equivalents of work: " + "attention makes long inputs weigh more) in " +
                         n_str(n_inputs) + " inputs; the server queues at most " + n_str(queue_tokens) + " tokens, " +
                         n_str(so.max_queue_inputs) + " inputs and " + n_str(so.max_queue_work) +
                         " token-equivalents (--max-queue-tokens, --max-queue-work); split it");
    case service::Admission::kStopping:
      throw ApiError(Failure::kUnavailable, "the server is shutting down");
  }
}

}  // namespace qembed::server::api
