#include "tokenizer/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"

namespace qembed {

namespace {

using nlohmann::json;

constexpr const char* kEosText = "<|endoftext|>";

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& what) {
  throw Error(path + ": " + field + ": " + what);
}

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open tokenizer.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return json::parse(buffer.str());
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

// Puts `token` at `id`, growing the table; ids need not be dense or ordered in the file.
void place(VocabData& v, const std::string& path, const std::string& field, int64_t id, const std::string& token,
           TokenType type, int64_t id_limit) {
  // The table is indexed by id, so an id far beyond the number of tokens would allocate for nothing (a 300-token
  // file naming id 14,000,000 took 1.4 GB): real vocabularies are dense.
  if (id < 0 || id >= id_limit) {
    fail(path, field,
         "token id " + std::to_string(id) + " out of range (the file has tokens for ids below " +
             std::to_string(id_limit) + "; ids must be dense)");
  }
  const auto i = static_cast<size_t>(id);
  if (i >= v.tokens.size()) {
    v.tokens.resize(i + 1);
    v.token_types.resize(i + 1, TokenType::Unused);
  }
  v.tokens[i] = token;
  v.token_types[i] = type;
}

void read_vocab(const json& model, const std::string& path, VocabData& v, int64_t id_limit) {
  const auto it = model.find("vocab");
  if (it == model.end() || !it->is_object()) fail(path, "model.vocab", "missing or not an object");
  for (const auto& [token, id] : it->items()) {
    if (!id.is_number_integer()) fail(path, "model.vocab[\"" + token + "\"]", "id is not an integer");
    place(v, path, "model.vocab", id.get<int64_t>(), token, TokenType::Normal, id_limit);
  }
}

// Both spellings occur in the wild: "a b" (older files) and ["a", "b"] (newer, allows spaces inside tokens).
void read_merges(const json& model, const std::string& path, VocabData& v) {
  const auto it = model.find("merges");
  if (it == model.end() || !it->is_array()) fail(path, "model.merges", "missing or not an array");
  v.merges.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size()) {
        fail(path, field, "expected \"left right\", got \"" + s + "\"");
      }
      v.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      v.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail(path, field, "expected a \"left right\" string or a [\"left\", \"right\"] pair");
    }
  }
}

void read_added_tokens(const json& root, const std::string& path, VocabData& v, int64_t id_limit) {
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return;
  if (!it->is_array()) fail(path, "added_tokens", "not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
        !t["content"].is_string()) {
      fail(path, field, "expected an object with integer \"id\" and string \"content\"");
    }
    // t.value("special", false) would throw nlohmann's type_error for a non-bool: check the type ourselves.
    const auto sp = t.find("special");
    if (sp != t.end() && !sp->is_null() && !sp->is_boolean()) fail(path, field + ".special", "not a boolean");
    const bool special = sp != t.end() && sp->is_boolean() && sp->get<bool>();
    place(v, path, field, t["id"].get<int64_t>(), t["content"].get<std::string>(),
          special ? TokenType::Control : TokenType::UserDefined, id_limit);
  }
}

}  // namespace

VocabData vocab_from_tokenizer_json(const std::string& path) {
  const json root = read_json(path);
  if (!root.is_object()) fail(path, "(root)", "not a JSON object");
  const auto model = root.find("model");
  if (model == root.end() || !model->is_object()) fail(path, "model", "missing or not an object");
  if (const auto type = model->find("type"); type != model->end() && *type != "BPE") {
    fail(path, "model.type", "unsupported tokenizer model " + type->dump() + " (expected \"BPE\")");
  }

  // Ids may leave small gaps (unused slots), never more than twice the entries (plus room for a few reserved ones),
  // and never 1 << 24 or more.
  int64_t entries = 0;
  if (const auto vocab = model->find("vocab"); vocab != model->end() && vocab->is_object()) {
    entries += static_cast<int64_t>(vocab->size());
  }
  if (const auto added = root.find("added_tokens"); added != root.end() && added->is_array()) {
    entries += static_cast<int64_t>(added->size());
  }
  const int64_t id_limit = std::min<int64_t>(2 * entries + 4096, int64_t{1} << 24);
  VocabData v;
  read_vocab(*model, path, v, id_limit);
  read_merges(*model, path, v);
  read_added_tokens(root, path, v, id_limit);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i] == kEosText) v.eos_id = static_cast<int32_t>(i);
  }
  if (v.eos_id < 0) fail(path, "added_tokens", std::string("no ") + kEosText + " token");
  return v;
}

}  // namespace qembed
