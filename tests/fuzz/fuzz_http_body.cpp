// libFuzzer target: HTTP request bodies as the embedding endpoints read them (server/api/request_parsing.hpp: the
// JSON body, the inputs field, the shared embedding fields) and the error bodies they answer with
// (server/api/errors.hpp). Any body must parse or fail with an ApiError whose status is a 4xx and whose error
// body renders in every dialect; nothing a client sends may escape as another exception or a crash.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "server/api/errors.hpp"
#include "server/api/request_parsing.hpp"

namespace {

using qembed::server::api::ApiError;
using qembed::server::api::Dialect;

constexpr int64_t kMaxInputs = 32;   // --max-client-batch-size
constexpr int64_t kNVocab = 151669;  // Qwen3-Embedding
constexpr Dialect kDialects[] = {Dialect::kOpenAI, Dialect::kTEI, Dialect::kOllama};

// A request failure must be the client's (4xx) and its error body must render in every dialect.
void check_error(const ApiError& e) {
  for (const Dialect d : kDialects) {
    const int status = qembed::server::api::status_of(e.failure, d);
    if (status < 400 || status > 499) {
      qembed::fuzz::invariant_failed("request parsing answered status " + std::to_string(status) + ": " + e.what());
    }
    if (qembed::server::api::error_body(d, e).empty()) qembed::fuzz::invariant_failed("empty error body");
  }
}

// What one dialect's embedding handler reads from a body: its inputs field and the shared fields.
void read_request(const nlohmann::json& body, const char* inputs_field, bool default_truncate) {
  namespace api = qembed::server::api;
  try {
    const auto inputs = api::required_inputs(body, inputs_field, kMaxInputs, kNVocab);
    if (inputs.size() == 0 || static_cast<int64_t>(inputs.size()) > kMaxInputs) {
      qembed::fuzz::invariant_failed("inputs count outside [1, max_inputs]");
    }
    for (const auto& ids : inputs.token_ids) {
      for (const int32_t id : ids) {
        if (id < 0 || id >= kNVocab) qembed::fuzz::invariant_failed("token id outside the vocabulary");
      }
    }
    const auto params = api::parse_embed_params(body, default_truncate);
    if (params.dimensions < 0) qembed::fuzz::invariant_failed("negative dimensions");
    (void)api::opt_string(body, "model");
    (void)api::opt_string(body, "encoding_format");
  } catch (const ApiError& e) {
    check_error(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body;
  try {
    body = qembed::server::api::parse_body(text);
  } catch (const ApiError& e) {
    check_error(e);
    return 0;
  }
  read_request(body, "input", false);  // OpenAI /v1/embeddings, Ollama /api/embed
  read_request(body, "inputs", true);  // TEI /embed
  return 0;
}
