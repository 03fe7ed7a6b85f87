#pragma once
// Reading request bodies, shared by every dialect: the JSON body, optional typed fields, the inputs (string |
// string[] | int[] | int[][]) and the embedding fields every dialect names the same way. Errors are ApiErrors
// naming the field (kMalformed for unreadable JSON, kInvalidInput for a wrong type or value, kTooLarge for more
// inputs than --max-client-batch-size).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/api/errors.hpp"
#include "service/embedding_service.hpp"

namespace qembed::server::api {

//! Parses a JSON body: kMalformed naming the problem (syntax error with line/column, invalid UTF-8, not an object).
nlohmann::json parse_body(const std::string& body);

//! Optional typed fields: absent or null -> nullopt; a wrong type is kInvalidInput naming the field.
std::optional<bool> opt_bool(const nlohmann::json& body, const char* field);
std::optional<std::string> opt_string(const nlohmann::json& body, const char* field);
std::optional<int64_t> opt_int(const nlohmann::json& body, const char* field);

//! string | string[] | int[] (one token array) | int[][] from `value`, the field `param`: 1..max_inputs items
//! (more -> kTooLarge), non-empty strings, token ids in [0, n_vocab). Errors name the item ("input[3]").
service::EmbedInputs parse_inputs(const nlohmann::json& value, const std::string& param, int64_t max_inputs,
                                  int64_t n_vocab);

//! The required inputs field of a body (missing -> kInvalidInput).
service::EmbedInputs required_inputs(const nlohmann::json& body, const char* field, int64_t max_inputs,
                                     int64_t n_vocab);

//! The embedding fields every dialect spells the same: prompt_name, instruction, truncate (default
//! `default_truncate`), truncation_direction (Right|Left), dimensions (a positive integer), normalize.
service::EmbedParams parse_embed_params(const nlohmann::json& body, bool default_truncate);

//! The name a JSON value has in messages ("integer", "string", "object"...).
std::string json_type_name(const nlohmann::json& v);

}  // namespace qembed::server::api
