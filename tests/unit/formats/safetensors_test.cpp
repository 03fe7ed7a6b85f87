// safetensors round trips (single file, sharded folder, with/without "model.") and broken headers.
#include "formats/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "temp_dir.hpp"

namespace qembed {
namespace {

SafetensorsOut make_tensor(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                           uint8_t seed) {
  size_t n = safetensors_dtype_bytes(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  SafetensorsOut t{name, dtype, std::move(shape), std::vector<uint8_t>(n)};
  for (size_t i = 0; i < n; ++i) t.bytes[i] = static_cast<uint8_t>(seed + 3 * i);
  return t;
}

void write_text(const std::string& path, const std::string& text) {
  test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// A safetensors file from a raw header string plus `data_bytes` zero bytes.
std::vector<uint8_t> raw_file(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

std::string open_error(const test::TempDir& dir, const std::vector<uint8_t>& bytes) {
  test::write_bytes(dir.file("x.safetensors"), bytes);
  try {
    SafetensorsFile::open(dir.file("x.safetensors"));
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(Safetensors, SingleFileRoundTrip) {
  test::TempDir dir;
  std::vector<SafetensorsOut> ts = {make_tensor("a", "F32", {2, 3}, 1), make_tensor("b.weight", "BF16", {5}, 2),
                                    make_tensor("c", "F16", {1, 1, 4}, 3), make_tensor("empty", "F32", {0, 4}, 4)};
  write_safetensors(dir.file("m.safetensors"), ts);
  auto f = SafetensorsFile::open(dir.file("m.safetensors"));
  ASSERT_EQ(f->tensors().size(), ts.size());
  for (const auto& t : ts) {
    const SafetensorsTensor* r = f->find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->dtype, t.dtype);
    EXPECT_EQ(r->shape, t.shape);
    ASSERT_EQ(r->n_bytes, t.bytes.size());
    EXPECT_TRUE(t.bytes.empty() || std::memcmp(r->data, t.bytes.data(), r->n_bytes) == 0);
  }
  EXPECT_EQ(f->find("missing"), nullptr);
}

TEST(Safetensors, WriterRejectsSizeMismatch) {
  test::TempDir dir;
  auto t = make_tensor("a", "F32", {2}, 0);
  t.bytes.pop_back();
  EXPECT_THROW(write_safetensors(dir.file("m.safetensors"), {t}), Error);
  EXPECT_THROW(write_safetensors(dir.file("m.safetensors"), {make_tensor("a", "Q4", {2}, 0)}), Error);
}

void write_config(const test::TempDir& dir) { write_text(dir.file("config.json"), R"({"hidden_size": 8})"); }

TEST(HfCheckpoint, SingleFileWithAndWithoutPrefix) {
  for (bool prefix : {true, false}) {
    test::TempDir dir;
    write_config(dir);
    std::string p = prefix ? "model." : "";
    write_safetensors(dir.file("model.safetensors"), {make_tensor(p + "embed_tokens.weight", "F32", {4, 2}, 1),
                                                      make_tensor(p + "norm.weight", "F32", {2}, 2)});
    auto ck = HfCheckpoint::open(dir.path().string());
    EXPECT_EQ(ck->config()["hidden_size"], 8);
    EXPECT_EQ(ck->n_tensors(), 2u);
    for (const char* name : {"embed_tokens.weight", "model.embed_tokens.weight"}) {
      const SafetensorsTensor* t = ck->find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->shape, (std::vector<int64_t>{4, 2}));
    }
    EXPECT_EQ(ck->find_tensor("lm_head.weight"), nullptr);
    EXPECT_EQ(ck->tokenizer_json_path(), dir.file("tokenizer.json"));
    EXPECT_GT(ck->total_bytes(), 32u);
  }
}

TEST(HfCheckpoint, Sharded) {
  test::TempDir dir;
  write_config(dir);
  write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                    {make_tensor("model.layers.0.mlp.up_proj.weight", "BF16", {4, 2}, 1)});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {make_tensor("model.norm.weight", "BF16", {2}, 2)});
  nlohmann::json index = {{"metadata", {{"total_size", 20}}},
                          {"weight_map",
                           {{"model.layers.0.mlp.up_proj.weight", "model-00001-of-00002.safetensors"},
                            {"model.norm.weight", "model-00002-of-00002.safetensors"}}}};
  write_text(dir.file("model.safetensors.index.json"), index.dump());
  auto ck = HfCheckpoint::open(dir.path().string());
  EXPECT_EQ(ck->n_tensors(), 2u);
  ASSERT_NE(ck->find_tensor("layers.0.mlp.up_proj.weight"), nullptr);
  ASSERT_NE(ck->find_tensor("norm.weight"), nullptr);
  EXPECT_EQ(ck->all_tensors().size(), 2u);

  // A weight_map entry missing from its shard, and a shard name escaping the folder, are errors.
  index["weight_map"]["model.extra"] = "model-00002-of-00002.safetensors";
  write_text(dir.file("model.safetensors.index.json"), index.dump());
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);
  index["weight_map"].erase("model.extra");
  index["weight_map"]["model.norm.weight"] = "../x.safetensors";
  write_text(dir.file("model.safetensors.index.json"), index.dump());
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);
  write_text(dir.file("model.safetensors.index.json"), "{not json");
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);
}

TEST(HfCheckpoint, MissingPieces) {
  test::TempDir dir;
  EXPECT_THROW(HfCheckpoint::open(dir.file("nope")), Error);
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);  // no config.json
  write_config(dir);
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);  // no weights
  write_text(dir.file("config.json"), "[1,2");
  EXPECT_THROW(HfCheckpoint::open(dir.path().string()), Error);
}

TEST(SafetensorsCorruption, BrokenHeaders) {
  test::TempDir dir;
  auto expect = [&](const std::vector<uint8_t>& bytes, const std::string& needle) {
    std::string msg = open_error(dir, bytes);
    ASSERT_FALSE(msg.empty()) << needle;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("x.safetensors"), std::string::npos) << msg;
  };
  expect({1, 2, 3}, "truncated");
  EXPECT_EQ(open_error(dir, raw_file("{}", 0)), "");  // no tensors is a valid (empty) file
}

TEST(SafetensorsCorruption, HostileEntries) {
  test::TempDir dir;
  auto expect = [&](const std::vector<uint8_t>& bytes, const std::string& needle) {
    std::string msg = open_error(dir, bytes);
    ASSERT_FALSE(msg.empty()) << "accepted; expected " << needle;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
  };
  std::vector<uint8_t> huge(8, 0xFF);
  expect(huge, "header length");
  expect(raw_file("{\"a\":", 0), "not valid JSON");
  expect(raw_file("[1,2]", 0), "not a JSON object");
  expect(raw_file(R"({"a": 5})", 0), "not an object");
  expect(raw_file(R"({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}})", 4), "unknown dtype");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4), "shape entries");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4), "shape entries");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4), "do not match");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}})", 4), "outside");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 16), "outside");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4), "data_offsets");
  expect(
      raw_file(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 4]}})", 4),
      "overflows");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}})", 4), "outside");
  expect(raw_file(R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", 4), "dtype");
  EXPECT_EQ(
      open_error(
          dir,
          raw_file(R"({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                   4)),
      "");
}

TEST(SafetensorsCorruption, TruncatedAndFlipped) {
  test::TempDir dir;
  write_safetensors(dir.file("v.safetensors"), {make_tensor("a", "F32", {2, 3}, 1), make_tensor("b", "BF16", {5}, 2)});
  const auto valid = test::read_bytes(dir.file("v.safetensors"));
  for (size_t n = 1; n < valid.size(); ++n) {
    EXPECT_NE(open_error(dir, std::vector<uint8_t>(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n))), "")
        << n;
  }
  uint64_t state = 42;
  for (int trial = 0; trial < 2000; ++trial) {
    auto bytes = valid;
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    bytes[(state >> 33) % bytes.size()] = static_cast<uint8_t>(state >> 13);
    open_error(dir, bytes);  // must return (opened or Error), never crash
  }
}

}  // namespace
}  // namespace qembed
