// vocab_from_tokenizer_json: both merge spellings, added tokens, and errors that name the file and field.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "tokenizer_test_util.hpp"

namespace qembed {
namespace {

using nlohmann::json;
using test::qwen3_tokenizer;
using test::qwen3_vocab;
using test::TokTempDir;

json load_qwen3_json() {
  std::ifstream in(test::kQwen3TokenizerJson);
  return json::parse(in);
}

void save(const json& j, const std::string& path) { std::ofstream(path) << j.dump(); }

std::string error_of(const std::string& path) {
  try {
    vocab_from_tokenizer_json(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(VocabJson, ReadsQwen3) {
  const VocabData& v = qwen3_vocab();
  EXPECT_EQ(v.tokens.size(), 151669u);
  EXPECT_EQ(v.merges.size(), 151387u);
  EXPECT_EQ(v.eos_id, 151643);
  EXPECT_EQ(v.tokens[151643], "<|endoftext|>");
  EXPECT_EQ(v.token_types[151643], TokenType::Control);      // special: true
  EXPECT_EQ(v.token_types[151667], TokenType::UserDefined);  // <think>, special: false
  EXPECT_EQ(v.token_types[1879], TokenType::Normal);
  EXPECT_EQ(v.merges[0], (std::pair<std::string, std::string>{"Ġ", "Ġ"}));
}

TEST(VocabJson, StringAndPairMergesGiveTheSameTokenizer) {
  TokTempDir dir;
  json pairs = load_qwen3_json();
  json strings = pairs;
  json& merges = strings["model"]["merges"];
  for (auto& m : merges) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  ASSERT_TRUE(pairs["model"]["merges"][0].is_array());
  ASSERT_TRUE(strings["model"]["merges"][0].is_string());
  save(pairs, dir.file("pairs.json"));
  save(strings, dir.file("strings.json"));

  const VocabData from_pairs = vocab_from_tokenizer_json(dir.file("pairs.json"));
  const VocabData from_strings = vocab_from_tokenizer_json(dir.file("strings.json"));
  EXPECT_EQ(from_pairs.merges, from_strings.merges);
  EXPECT_EQ(from_pairs.tokens, from_strings.tokens);

  const Tokenizer a(from_pairs), b(from_strings);
  for (const char* text : {"Hello world", "DON'T stop 12345", "我们使用向量嵌入。", "x<|im_end|>y"}) {
    EXPECT_EQ(a.encode(text), b.encode(text)) << text;
    EXPECT_EQ(a.encode(text), qwen3_tokenizer().encode(text)) << text;
  }
}

TEST(VocabJson, MissingFileIsAnError) {
  EXPECT_NE(error_of("/nonexistent/tokenizer.json").find("/nonexistent/tokenizer.json"), std::string::npos);
}

TEST(VocabJson, ErrorsNameFileAndField) {
  TokTempDir dir;
  const auto check = [&](const std::string& name, const std::string& content, const std::string& field) {
    const std::string path = dir.file(name);
    std::ofstream(path) << content;
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(field), std::string::npos) << message;
  };
  check("not_json.json", "{ nope", "not valid JSON");
  check("no_model.json", R"({"added_tokens": []})", "model");
  check("no_vocab.json", R"({"model": {"type": "BPE", "merges": []}})", "model.vocab");
  check("bad_id.json", R"({"model": {"vocab": {"a": "x"}, "merges": []}})", "model.vocab");
  check("no_merges.json", R"({"model": {"vocab": {"a": 0}}})", "model.merges");
  check("bad_merge.json", R"({"model": {"vocab": {"a": 0}, "merges": ["a b", "ab"]}})", "model.merges[1]");
  check("bad_pair.json", R"({"model": {"vocab": {"a": 0}, "merges": [["a"]]}})", "model.merges[0]");
  check("bad_added.json", R"({"model": {"vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 1}]})",
        "added_tokens[0]");
  check("huge_id.json", R"({"model": {"vocab": {"a": 99999999999}, "merges": []}})", "out of range");
  // Sparse beyond reason: three tokens, one of them at id 14,000,000 (a fuzzer found it allocating 1.4 GB).
  check("sparse_id.json", R"({"model": {"vocab": {"a": 0, "b": 1, "c": 14000000}, "merges": []}})",
        "token id 14000000 out of range");
  // A non-boolean "special" (a fuzzer's find: it escaped as nlohmann's type_error, not an Error).
  check("special_not_bool.json",
        R"({"model": {"vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 1, "content": "b", "special": 3}]})",
        "added_tokens[0].special");
  check("no_eos.json", R"({"model": {"vocab": {"a": 0}, "merges": []}, "added_tokens": []})", "<|endoftext|>");
  check("wordpiece.json", R"({"model": {"type": "WordPiece", "vocab": {}}})", "model.type");
}

}  // namespace
}  // namespace qembed
