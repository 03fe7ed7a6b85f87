#pragma once
// What the endpoints share: the OpenAI-style error, the parsed form of an embedding request, and the JSON/base64
// writers for vectors.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qembed::server {

//! A failure reported to the client as {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = "", std::string code = "")
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string param;  //!< the request field at fault ("" -> null)
  std::string code;   //!< machine-readable code ("" -> derived from status)
};

//! The OpenAI error body for a status and message.
std::string error_body(int status, const std::string& message, const std::string& param = "",
                       const std::string& code = "");

//! The inputs of a request: texts, or token-id arrays (never both).
struct Inputs {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_arrays;
  bool are_tokens = false;
  size_t size() const { return are_tokens ? token_arrays.size() : texts.size(); }
};

//! Parses string | string[] | int[] | int[][] from `value` (the field is named `param` in errors). Enforces
//! 1..max_inputs items (more -> 413), non-empty strings, token ids in [0, n_vocab).
Inputs parse_inputs(const nlohmann::json& value, const std::string& param, int64_t max_inputs, int64_t n_vocab);

//! A parsed embedding request, whatever the endpoint.
struct EmbedRequest {
  Inputs inputs;
  std::string prefix;  //!< prepended to each text (the prompt); "" for none
  bool truncate = false;
  bool truncate_left = false;  //!< drop the first tokens instead of the last
  bool normalize = true;
  int64_t dimensions = 0;  //!< 0: all
  bool base64 = false;     //!< OpenAI encoding_format
};

//! Appends `[f0,f1,...]` with the shortest round-tripping float32 text.
void append_float_array(std::string& out, const std::vector<float>& v);
//! Base64 of the little-endian float32 bytes (what OpenAI clients decode).
std::string base64_floats(const std::vector<float>& v);
//! Appends a JSON string literal (escaped; invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, const std::string& s);

//! Parses a JSON body: 400 naming the problem (syntax error with byte offset, invalid UTF-8, not an object).
nlohmann::json parse_body(const std::string& body);

//! Optional typed fields: 400 naming the field when the type is wrong.
std::optional<bool> opt_bool(const nlohmann::json& body, const char* field);
std::optional<std::string> opt_string(const nlohmann::json& body, const char* field);
std::optional<int64_t> opt_int(const nlohmann::json& body, const char* field);

}  // namespace qembed::server
