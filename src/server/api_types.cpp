#include "server/api_types.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace qembed::server {

using nlohmann::json;

namespace {

const char* error_type(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

const char* default_code(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "invalid_api_key";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 429:
      return "rate_limit_exceeded";
    case 503:
      return "service_unavailable";
    default:
      return "internal_error";
  }
}

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

}  // namespace

std::string error_body(int status, const std::string& message, const std::string& param, const std::string& code) {
  json err = {{"message", message},
              {"type", error_type(status)},
              {"param", param.empty() ? json(nullptr) : json(param)},
              {"code", code.empty() ? default_code(status) : code}};
  return json{{"error", err}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Inputs parse_inputs(const json& value, const std::string& param, int64_t max_inputs, int64_t n_vocab) {
  const std::string expected = param +
                               " must be a string, an array of strings, an array of token ids or an array "
                               "of token-id arrays";
  auto token = [&](const json& t, const std::string& where) -> int32_t {
    if (!t.is_number_integer())
      throw ApiError(400, where + " must be a token id (integer), got " + type_name(t), param);
    int64_t id = t.get<int64_t>();
    if (id < 0 || id >= n_vocab) {
      throw ApiError(400,
                     where + " is token id " + std::to_string(id) + ", outside the vocabulary [0, " +
                         std::to_string(n_vocab) + ")",
                     param);
    }
    return static_cast<int32_t>(id);
  };
  Inputs in;
  if (value.is_null()) throw ApiError(400, "missing required field " + param, param);
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().empty()) throw ApiError(400, param + " is an empty string", param);
    in.texts.push_back(value.get<std::string>());
    return in;
  }
  if (!value.is_array()) throw ApiError(400, expected + ", got " + type_name(value), param);
  if (value.empty()) throw ApiError(400, param + " is an empty list", param);
  if (static_cast<int64_t>(value.size()) > max_inputs) {
    throw ApiError(413,
                   param + " has " + std::to_string(value.size()) + " items, the limit is " +
                       std::to_string(max_inputs) + " (--max-client-batch-size)",
                   param);
  }
  const json& first = value.front();
  if (first.is_number()) {  // one token array
    in.are_tokens = true;
    auto& ids = in.token_arrays.emplace_back();
    for (size_t i = 0; i < value.size(); ++i) ids.push_back(token(value[i], param + "[" + std::to_string(i) + "]"));
    return in;
  }
  if (first.is_array()) {
    in.are_tokens = true;
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string where = param + "[" + std::to_string(i) + "]";
      const json& arr = value[i];
      if (!arr.is_array()) throw ApiError(400, where + " must be an array of token ids, got " + type_name(arr), param);
      if (arr.empty()) throw ApiError(400, where + " is an empty token array", param);
      auto& ids = in.token_arrays.emplace_back();
      for (size_t k = 0; k < arr.size(); ++k) ids.push_back(token(arr[k], where + "[" + std::to_string(k) + "]"));
    }
    return in;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string where = param + "[" + std::to_string(i) + "]";
    const json& t = value[i];
    if (!t.is_string()) throw ApiError(400, where + " must be a string, got " + type_name(t), param);
    if (t.get_ref<const std::string&>().empty()) throw ApiError(400, where + " is an empty string", param);
    in.texts.push_back(t.get<std::string>());
  }
  return in;
}

void append_float_array(std::string& out, const std::vector<float>& v) {
  out += '[';
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    float x = std::isfinite(v[i]) ? v[i] : 0.0f;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, end);
  }
  out += ']';
}

std::string base64_floats(const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  static const char* A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const size_t n = v.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t w = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    out += A[w >> 18];
    out += A[(w >> 12) & 63];
    out += A[(w >> 6) & 63];
    out += A[w & 63];
  }
  if (i < n) {
    uint32_t w = uint32_t(p[i]) << 16;
    if (i + 1 < n) w |= uint32_t(p[i + 1]) << 8;
    out += A[w >> 18];
    out += A[(w >> 12) & 63];
    out += i + 1 < n ? A[(w >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void append_json_string(std::string& out, const std::string& s) {
  out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_body(const std::string& body) {
  json v;
  try {
    v = json::parse(body);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> drop the library prefix.
    if (size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    if (body.empty()) what = "the request body is empty";
    throw ApiError(400, "invalid JSON body: " + what);
  }
  if (!v.is_object()) throw ApiError(400, "the request body must be a JSON object, got " + type_name(v));
  return v;
}

std::optional<bool> opt_bool(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw ApiError(400, std::string(field) + " must be a boolean, got " + type_name(*it), field);
  return it->get<bool>();
}

std::optional<std::string> opt_string(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw ApiError(400, std::string(field) + " must be a string, got " + type_name(*it), field);
  return it->get<std::string>();
}

std::optional<int64_t> opt_int(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    throw ApiError(400, std::string(field) + " must be an integer, got " + type_name(*it), field);
  }
  return it->get<int64_t>();
}

}  // namespace qembed::server
