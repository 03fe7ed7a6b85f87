// The model fingerprint: content, not location; any changed byte changes it; the sidecar spares re-hashing.
#include "service/model_fingerprint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.hpp"
#include "service/cache_key.hpp"

namespace qembed::service {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("qembed-fp-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Hash64, StreamingEqualsOneShotAtAnySplit) {
  const std::string data = random_bytes(1000, 1);
  for (size_t n : {0, 1, 7, 8, 31, 32, 33, 63, 64, 100, 1000}) {
    const uint64_t whole = hash64(data.data(), n);
    for (size_t cut : {size_t{0}, size_t{1}, size_t{5}, n / 2, n}) {
      if (cut > n) continue;
      Hash64 h;
      h.update(data.data(), cut);
      h.update(data.data() + cut, n - cut);
      EXPECT_EQ(h.digest(), whole) << "n=" << n << " cut=" << cut;
    }
  }
  EXPECT_NE(hash64("a", 1), hash64("b", 1));
  EXPECT_NE(hash64("", 0), hash64("\0", 1)) << "length counts";
  EXPECT_EQ(hex64(0x0123456789abcdefULL), "0123456789abcdef");
}

TEST(ModelFingerprint, SameBytesAtTwoPathsGiveTheSameValueAndOneFlippedByteChangesIt) {
  TempDir a, b;
  const std::string bytes = random_bytes(3 << 20, 2);  // several read blocks' worth of stripes
  write_file(a / "m.gguf", bytes);
  write_file(b / "other-name.gguf", bytes);
  const std::string fa = model_fingerprint((a / "m.gguf").string());
  EXPECT_EQ(fa.size(), 16u);
  EXPECT_EQ(fa, model_fingerprint((b / "other-name.gguf").string()));
  for (size_t pos : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string flipped = bytes;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x01);
    write_file(b / ("flip-" + std::to_string(pos) + ".gguf"), flipped);
    EXPECT_NE(fa, model_fingerprint((b / ("flip-" + std::to_string(pos) + ".gguf")).string())) << "byte " << pos;
  }
}

TEST(ModelFingerprint, SidecarIsReusedWhileSizeAndMtimeMatchAndRecomputedOtherwise) {
  TempDir d;
  const fs::path model = d / "m.gguf";
  write_file(model, random_bytes(4096, 3));
  const uint64_t h = file_content_hash(model.string());
  const fs::path sidecar = d / "m.gguf.qembed-fingerprint";
  ASSERT_TRUE(fs::exists(sidecar)) << "kept beside the file";
  // A sidecar with another hash for the same size and mtime is trusted: proof the file is not re-read.
  std::ifstream in(sidecar);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string hex = hex64(h);
  const std::string forged = hex64(h ^ 1);
  text.replace(text.find(hex), hex.size(), forged);
  write_file(sidecar, text);
  EXPECT_EQ(file_content_hash(model.string()), h ^ 1);
  // Rewriting the file (new mtime) makes the sidecar stale: recomputed.
  write_file(model, random_bytes(4096, 3));
  fs::last_write_time(model, fs::last_write_time(model) + std::chrono::seconds(5));
  EXPECT_EQ(file_content_hash(model.string()), h);
  // A garbled sidecar is ignored.
  write_file(sidecar, "nonsense");
  EXPECT_EQ(file_content_hash(model.string()), h);
}

TEST(ModelFingerprint, FolderValueDependsOnTheFilesNotTheFolderName) {
  TempDir a, b;
  fs::create_directories(a / "Qwen3-Embedding-X");
  fs::create_directories(b / "renamed");
  for (const fs::path& dir : {a / "Qwen3-Embedding-X", b / "renamed"}) {
    write_file(dir / "config.json", "{\"hidden_size\": 8}");
    write_file(dir / "tokenizer.json", "{}");
    write_file(dir / "model.safetensors", random_bytes(1000, 4));
  }
  write_file(b / "renamed" / "README.md", "not read by the loader");
  const std::string fa = model_fingerprint((a / "Qwen3-Embedding-X").string());
  EXPECT_EQ(fa, model_fingerprint((b / "renamed").string() + "/"));
  write_file(b / "renamed" / "tokenizer.json", "{ }");
  EXPECT_NE(fa, model_fingerprint((b / "renamed").string())) << "a tokenizer byte changes it";
}

TEST(ModelFingerprint, MissingFileIsAnIoError) {
  try {
    model_fingerprint("/nonexistent/qembed/model.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(CacheKey, BytesAndHashCoverEveryField) {
  const CacheKey k{"00112233aabbccdd", "cpu/avx2", {1, 2, 151643}};
  EXPECT_EQ(k.bytes(), k.bytes());
  EXPECT_EQ(k.hash(), CacheKey(k).hash());
  CacheKey other_ids = k;
  other_ids.ids.back() = 3;
  CacheKey other_path = k;
  other_path.numeric_path = "cpu/avx512";
  CacheKey other_model = k;
  other_model.model_fingerprint = "00112233aabbccde";
  for (const CacheKey* o : {&other_ids, &other_path, &other_model}) {
    EXPECT_NE(o->bytes(), k.bytes());
    EXPECT_NE(o->hash(), k.hash());
  }
}

}  // namespace
}  // namespace qembed::service
