#pragma once
// Writing response bodies without building a JSON tree per float: vectors as the shortest round-tripping text or as
// base64 of their little-endian float32 bytes (what OpenAI clients decode), and escaped JSON strings.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qembed::server::api {

//! Appends `[f0,f1,...]` with the shortest text that reads back as the same float32.
void append_float_array(std::string& out, const std::vector<float>& v);
//! Base64 of the little-endian float32 bytes.
std::string base64_floats(const std::vector<float>& v);
//! Appends a JSON string literal (escaped; invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, const std::string& s);
//! A JSON value as compact text (invalid UTF-8 replaced by U+FFFD).
std::string dump(const nlohmann::json& v);

}  // namespace qembed::server::api
