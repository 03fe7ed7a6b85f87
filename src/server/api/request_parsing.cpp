#include "server/api/request_parsing.hpp"

namespace qembed::server::api {

using nlohmann::json;

std::string json_type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

json parse_body(const std::string& body) {
  json v;
  try {
    v = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> drop the library prefix.
    if (size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    if (body.empty()) what = "the request body is empty";
    throw ApiError(Failure::kMalformed, "invalid JSON body: " + what);
  }
  if (!v.is_object()) {
    throw ApiError(Failure::kMalformed, "the request body must be a JSON object, got " + json_type_name(v));
  }
  return v;
}

std::optional<bool> opt_bool(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    throw ApiError(Failure::kInvalidInput, std::string(field) + " must be a boolean, got " + json_type_name(*it),
                   field);
  }
  return it->get<bool>();
}

std::optional<std::string> opt_string(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    throw ApiError(Failure::kInvalidInput, std::string(field) + " must be a string, got " + json_type_name(*it), field);
  }
  return it->get<std::string>();
}

std::optional<int64_t> opt_int(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    throw ApiError(Failure::kInvalidInput, std::string(field) + " must be an integer, got " + json_type_name(*it),
                   field);
  }
  return it->get<int64_t>();
}

service::EmbedInputs parse_inputs(const json& value, const std::string& param, int64_t max_inputs, int64_t n_vocab) {
  const std::string expected = param +
                               " must be a string, an array of strings, an array of token ids or an array "
                               "of token-id arrays";
  auto invalid = [&](const std::string& message) { return ApiError(Failure::kInvalidInput, message, param); };
  auto token = [&](const json& t, const std::string& where) -> int32_t {
    if (!t.is_number_integer()) throw invalid(where + " must be a token id (integer), got " + json_type_name(t));
    const int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > uint64_t{INT64_MAX} ? INT64_MAX : t.get<int64_t>();
    if (id < 0 || id >= n_vocab) {
      throw invalid(where + " is token id " + std::to_string(id) + ", outside the vocabulary [0, " +
                    std::to_string(n_vocab) + ")");
    }
    return static_cast<int32_t>(id);
  };
  service::EmbedInputs in;
  if (value.is_null()) throw invalid("missing required field " + param);
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().empty()) throw invalid(param + " is an empty string");
    in.texts.push_back(value.get<std::string>());
    return in;
  }
  if (!value.is_array()) throw invalid(expected + ", got " + json_type_name(value));
  if (value.empty()) throw invalid(param + " is an empty list");
  if (static_cast<int64_t>(value.size()) > max_inputs) {
    throw ApiError(Failure::kTooLarge,
                   param + " has " + std::to_string(value.size()) + " items, the limit is " +
                       std::to_string(max_inputs) + " (--max-client-batch-size)",
                   param);
  }
  const json& first = value.front();
  if (first.is_number()) {  // one token array
    in.are_tokens = true;
    auto& ids = in.token_ids.emplace_back();
    for (size_t i = 0; i < value.size(); ++i) ids.push_back(token(value[i], param + "[" + std::to_string(i) + "]"));
    return in;
  }
  if (first.is_array()) {
    in.are_tokens = true;
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string where = param + "[" + std::to_string(i) + "]";
      const json& arr = value[i];
      if (!arr.is_array()) throw invalid(where + " must be an array of token ids, got " + json_type_name(arr));
      if (arr.empty()) throw invalid(where + " is an empty token array");
      auto& ids = in.token_ids.emplace_back();
      for (size_t k = 0; k < arr.size(); ++k) ids.push_back(token(arr[k], where + "[" + std::to_string(k) + "]"));
    }
    return in;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string where = param + "[" + std::to_string(i) + "]";
    const json& t = value[i];
    if (!t.is_string()) throw invalid(where + " must be a string, got " + json_type_name(t));
    if (t.get_ref<const std::string&>().empty()) throw invalid(where + " is an empty string");
    in.texts.push_back(t.get<std::string>());
  }
  return in;
}

service::EmbedInputs required_inputs(const json& body, const char* field, int64_t max_inputs, int64_t n_vocab) {
  auto it = body.find(field);
  if (it == body.end()) {
    throw ApiError(Failure::kInvalidInput, std::string("missing required field ") + field, field);
  }
  return parse_inputs(*it, field, max_inputs, n_vocab);
}

service::EmbedParams parse_embed_params(const json& body, bool default_truncate) {
  service::EmbedParams p;
  p.truncate_hint = "\"truncate\": true";
  p.prompt_name = opt_string(body, "prompt_name");
  p.instruction = opt_string(body, "instruction");
  p.truncate = opt_bool(body, "truncate").value_or(default_truncate);
  p.normalize = opt_bool(body, "normalize").value_or(true);
  if (auto dir = opt_string(body, "truncation_direction")) {
    const std::optional<service::TruncationSide> side = service::parse_truncation_side(*dir);
    if (!side) {
      throw ApiError(Failure::kInvalidInput, "truncation_direction must be \"Right\" or \"Left\", got \"" + *dir + "\"",
                     "truncation_direction");
    }
    p.truncation_side = *side;
  }
  if (auto dims = opt_int(body, "dimensions")) {
    // 0 means "all" to the service; a client asking for 0 or fewer made a mistake.
    if (*dims <= 0) {
      throw ApiError(Failure::kInvalidInput, "dimensions must be a positive integer, got " + std::to_string(*dims),
                     "dimensions");
    }
    p.dimensions = *dims;
  }
  return p;
}

}  // namespace qembed::server::api
