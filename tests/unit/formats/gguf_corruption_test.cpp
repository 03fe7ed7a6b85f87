// Hostile and damaged GGUF files must yield qembed::Error, never a crash, a hang or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/error.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/gguf_writer.hpp"
#include "temp_dir.hpp"

namespace qembed {
namespace {

// Hand-assembles GGUF bytes so tests can state exactly which field is hostile.
struct RawGguf {
  std::vector<uint8_t> b;
  template <typename T>
  RawGguf& put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  RawGguf& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  RawGguf& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  // Tensor info; ne given in ggml order.
  RawGguf& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (uint64_t n : ne) put<uint64_t>(n);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  RawGguf& pad_to(size_t align) {
    b.resize((b.size() + align - 1) / align * align, 0);
    return *this;
  }
  RawGguf& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
};

// Opens bytes as a GGUF and returns the Error message ("" when it opened).
std::string open_error(const test::TempDir& dir, const std::vector<uint8_t>& bytes) {
  const std::string path = dir.file("x.gguf");
  test::write_bytes(path, bytes);
  try {
    auto f = GgufFile::open(path);
    // Touch everything a consumer would, so a bad pointer shows up under ASan.
    size_t sum = 0;
    for (const auto& t : f->tensors()) {
      for (size_t i = 0; i < t.n_bytes; i += 97) sum += t.data[i];
      if (t.n_bytes) sum += t.data[t.n_bytes - 1];
    }
    (void)sum;
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::vector<uint8_t> small_valid_gguf(const test::TempDir& dir) {
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  w.set_u32("qwen3.block_count", 2);
  w.set_f32("qwen3.rope.freq_base", 1e6f);
  w.set_bool("tokenizer.ggml.add_eos_token", true);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "Ġc"});
  w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 3});
  w.add_tensor("token_embd.weight", GgmlType::F16, {4, 3}, [](uint8_t* d) { std::memset(d, 1, 24); });
  w.add_tensor("blk.0.attn_q.weight", GgmlType::Q8_0, {32, 2}, [](uint8_t* d) { std::memset(d, 2, 68); });
  w.add_tensor("output_norm.weight", GgmlType::F32, {4}, [](uint8_t* d) { std::memset(d, 3, 16); });
  w.write(dir.file("valid.gguf"));
  return test::read_bytes(dir.file("valid.gguf"));
}

void expect_error(const test::TempDir& dir, const std::vector<uint8_t>& bytes, const std::string& needle) {
  std::string msg = open_error(dir, bytes);
  ASSERT_FALSE(msg.empty()) << "opened without error; expected: " << needle;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  EXPECT_NE(msg.find("x.gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
}

TEST(GgufCorruption, ValidBaselineOpens) {
  test::TempDir dir;
  EXPECT_EQ(open_error(dir, small_valid_gguf(dir)), "");
}

TEST(GgufCorruption, TruncatedAtEveryByte) {
  test::TempDir dir;
  const auto valid = small_valid_gguf(dir);
  // The last tensor's data ends the file, so every strictly shorter prefix is invalid.
  for (size_t n = 1; n < valid.size(); ++n) {
    std::vector<uint8_t> cut(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(open_error(dir, cut), "") << "prefix of " << n << " bytes opened";
  }
}

TEST(GgufCorruption, RandomByteFlipsOpenOrThrow) {
  test::TempDir dir;
  const auto valid = small_valid_gguf(dir);
  std::mt19937_64 rng(1234);
  int opened = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto bytes = valid;
    int n_flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n_flips; ++k) {
      size_t at = rng() % bytes.size();
      // Mix single-bit flips with whole-byte garbage and 0xFF (which makes huge lengths).
      switch (rng() % 3) {
        case 0:
          bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          bytes[at] = static_cast<uint8_t>(rng());
          break;
        default:
          bytes[at] = 0xFF;
          break;
      }
    }
    (open_error(dir, bytes).empty() ? opened : rejected)++;
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(opened, 0);  // flips inside tensor data are harmless
}

TEST(GgufCorruption, BadMagicAndVersion) {
  test::TempDir dir;
  auto v = small_valid_gguf(dir);
  auto bad = v;
  bad[0] = 'X';
  expect_error(dir, bad, "bad magic");
  for (uint32_t version : {0u, 1u, 4u, 0x03000000u}) {
    bad = v;
    std::memcpy(bad.data() + 4, &version, 4);
    expect_error(dir, bad, "unsupported GGUF version");
  }
  expect_error(dir, {'G', 'G'}, "truncated");
}

TEST(GgufCorruption, HugeCounts) {
  test::TempDir dir;
  expect_error(dir, RawGguf().header(0, 1ull << 60).zeros(64).b, "n_kv");
  expect_error(dir, RawGguf().header(1ull << 60, 0).zeros(64).b, "n_tensors");
  expect_error(dir, RawGguf().header(~0ull, ~0ull).b, "n_kv");
  // Key length far past the end.
  expect_error(dir, RawGguf().header(0, 1).put<uint64_t>(1ull << 62).zeros(16).b, "string length");
  // String value length of 2^64-1.
  expect_error(dir, RawGguf().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(~0ull).zeros(8).b, "string length");
  // Arrays whose count times the element size cannot fit.
  expect_error(dir, RawGguf().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 60).b,
               "array of");
  expect_error(dir, RawGguf().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1000).zeros(100).b,
               "array of");
  // Nested arrays and unknown types.
  expect_error(dir, RawGguf().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).zeros(32).b,
               "unsupported array element type");
  expect_error(dir, RawGguf().header(0, 1).str("k").put<uint32_t>(13).zeros(16).b, "unknown value type");
  expect_error(
      dir, RawGguf().header(0, 2).str("k").put<uint32_t>(0).put<uint8_t>(1).str("k").put<uint32_t>(0).put<uint8_t>(2).b,
      "duplicate metadata key");
}

TEST(GgufCorruption, HostileTensorInfos) {
  test::TempDir dir;
  auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
    return RawGguf().header(1, 0).tensor("w", std::move(ne), type, offset).pad_to(32).zeros(data_bytes).b;
  };
  expect_error(dir, one({}, 0, 0, 64), "n_dims");
  expect_error(dir, one({1, 1, 1, 1, 1}, 0, 0, 64), "n_dims");
  expect_error(dir, RawGguf().header(1, 0).str("w").put<uint32_t>(0xFFFFFFFF).zeros(64).b, "n_dims");
  expect_error(dir, one({1ull << 60}, 0, 0, 64), "runs past the end");
  expect_error(dir, one({1ull << 63}, 0, 0, 64), "overflows");
  expect_error(dir, one({1ull << 32, 1ull << 32}, 0, 0, 64), "overflows");
  expect_error(dir, one({4, 4, 1ull << 62}, 0, 0, 64), "overflows");
  expect_error(dir, one({4}, 5, 0, 64), "unknown or unsupported ggml type");
  expect_error(dir, one({4}, 0xFFFFFFFF, 0, 64), "unknown or unsupported ggml type");
  expect_error(dir, one({33}, 8, 0, 64), "not a multiple");
  expect_error(dir, one({4}, 0, 16, 64), "alignment");
  expect_error(dir, one({4}, 0, 64, 64), "runs past the end");
  expect_error(dir, one({4}, 0, ~0ull - 31, 64), "runs past the end");
  expect_error(dir, one({32}, 0, 0, 127), "runs past the end");
  EXPECT_EQ(open_error(dir, one({32}, 0, 0, 128)), "");
  EXPECT_EQ(open_error(dir, one({0, 5}, 0, 0, 0)), "");  // empty tensors are legal
  expect_error(dir, RawGguf().header(2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad_to(32).zeros(64).b,
               "duplicate tensor name");
}

TEST(GgufCorruption, BadAlignment) {
  test::TempDir dir;
  auto with_align = [](uint32_t type, uint32_t value) {
    return RawGguf().header(0, 1).str("general.alignment").put<uint32_t>(type).put<uint32_t>(value).b;
  };
  expect_error(dir, with_align(4, 0), "power of two");
  expect_error(dir, with_align(4, 48), "power of two");
  expect_error(dir, RawGguf().header(0, 1).str("general.alignment").put<uint32_t>(8).str("32").b, "power of two");
  EXPECT_EQ(open_error(dir, with_align(4, 16)), "");
}

}  // namespace
}  // namespace qembed
