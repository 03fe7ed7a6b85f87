#include "tokenizer/vocab_gguf.hpp"

#include "common/error.hpp"

namespace qembed {

namespace {

[[noreturn]] void fail(const GgufFile& file, const std::string& key, const std::string& what) {
  throw Error(file.path() + ": " + key + ": " + what);
}

const std::vector<std::string>& required_strings(const GgufFile& file, const std::string& key) {
  const std::vector<std::string>* values = file.get_string_array(key);
  if (values == nullptr) fail(file, key, "missing (expected an array of strings)");
  return *values;
}

}  // namespace

VocabData vocab_from_gguf(const GgufFile& file) {
  if (const auto model = file.get_string("tokenizer.ggml.model"); model && *model != "gpt2") {
    fail(file, "tokenizer.ggml.model", "unsupported tokenizer \"" + *model + "\" (expected \"gpt2\", byte-level BPE)");
  }
  VocabData v;
  v.tokens = required_strings(file, "tokenizer.ggml.tokens");

  const std::vector<int64_t>* types = file.get_int_array("tokenizer.ggml.token_type");
  if (types == nullptr) {
    v.token_types.assign(v.tokens.size(), TokenType::Normal);
  } else {
    if (types->size() != v.tokens.size()) {
      fail(file, "tokenizer.ggml.token_type",
           std::to_string(types->size()) + " entries for " + std::to_string(v.tokens.size()) + " tokens");
    }
    v.token_types.reserve(types->size());
    for (size_t i = 0; i < types->size(); ++i) {
      const int64_t t = (*types)[i];
      if (t < static_cast<int64_t>(TokenType::Normal) || t > static_cast<int64_t>(TokenType::Byte)) {
        fail(file, "tokenizer.ggml.token_type",
             "token " + std::to_string(i) + " has unknown type " + std::to_string(t));
      }
      v.token_types.push_back(static_cast<TokenType>(t));
    }
  }

  const std::vector<std::string>& merges = required_strings(file, "tokenizer.ggml.merges");
  v.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size()) {
      fail(file, "tokenizer.ggml.merges", "entry " + std::to_string(i) + " is \"" + m + "\", expected \"left right\"");
    }
    v.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }

  const std::optional<int64_t> eos = file.get_int("tokenizer.ggml.eos_token_id");
  if (!eos) fail(file, "tokenizer.ggml.eos_token_id", "missing");
  if (*eos < 0 || *eos >= static_cast<int64_t>(v.tokens.size())) {
    fail(file, "tokenizer.ggml.eos_token_id",
         std::to_string(*eos) + " is outside the vocabulary of " + std::to_string(v.tokens.size()) + " tokens");
  }
  v.eos_id = static_cast<int32_t>(*eos);
  return v;
}

}  // namespace qembed
