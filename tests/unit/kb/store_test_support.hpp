#pragma once
// Helpers for the store tests. Behaviour tests are written against `Store&` and run for every factory in
// store_factories() — a PostgreSQL store adds itself there and runs the same tests.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kb/store/pg_store.hpp"
#include "kb/store/sqlite_store.hpp"
#include "kb/store/store.hpp"
#include "pg_test_server.hpp"

namespace qembed::kb::testing {

//! A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qembed-kb-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct StoreFactory {
  std::string name;
  //! Opens (creating) a store identified by `key` inside `dir`; opening the same key again reaches the same data.
  std::function<std::unique_ptr<Store>(const TempDir& dir, const std::string& key)> open;
  //! Why this store cannot run here ("" when it can); tests GTEST_SKIP with it.
  std::function<std::string()> unavailable = [] { return std::string(); };
};

//! SQLite, and PostgreSQL on a throwaway server (pg_test_server.hpp; skipped with a message where PostgreSQL's
//! binaries are missing), one fresh database per (dir, key).
inline std::vector<StoreFactory> store_factories() {
  return {{"sqlite",
           [](const TempDir& dir, const std::string& key) -> std::unique_ptr<Store> {
             return SqliteStore::open(dir.file(key + ".db"));
           }},
          {"postgresql",
           [](const TempDir& dir, const std::string& key) -> std::unique_ptr<Store> {
             return PgStore::open(PgTestServer::instance().database_url(pg_test_database(dir.path(), key)));
           },
           [] { return PgTestServer::instance().unavailable(); }}};
}

//! A deterministic stand-in for sha256: 64 lowercase hex digits derived from `text`.
inline std::string fake_sha256(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  std::string out;
  for (int round = 0; round < 4; ++round) {
    for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    h = (h ^ static_cast<uint64_t>(round)) * 1099511628211ull;
    static const char* kHex = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) out += kHex[(h >> (4 * i)) & 0xf];
  }
  return out;
}

inline CollectionSettings test_settings(const std::string& name, int32_t dims = 8, VectorType type = VectorType::kF32) {
  CollectionSettings s;
  s.name = name;
  s.model = {"test-model", "fp-1234", 16};
  s.dimensions = dims;
  s.vector_type = type;
  s.chunk_tokens = 64;
  s.overlap_tokens = 8;
  s.query_instruction = "Given a question, retrieve passages that answer it";
  return s;
}

inline DocumentDraft draft(const std::string& name, const std::string& text, const std::string& format = "txt",
                           const std::string& metadata = "{}") {
  DocumentDraft d;
  d.name = name;
  d.sha256 = fake_sha256(text);
  d.format = format;
  d.size_bytes = static_cast<int64_t>(text.size());
  d.metadata_json = metadata;
  d.source = text;
  return d;
}

inline void normalize(float* v, size_t dims) {
  double norm = 0;
  for (size_t i = 0; i < dims; ++i) norm += static_cast<double>(v[i]) * v[i];
  const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
  for (size_t i = 0; i < dims; ++i) v[i] *= inv;
}

//! Content whose chunks are the text's words (each chunk one word; keyword text = the word, lowercased), with
//! random normalised vectors seeded by the text.
inline DocumentContent content_of(const std::string& text, size_t dims) {
  DocumentContent c;
  c.sha256 = fake_sha256(text);
  c.text = text;
  c.pages = 1;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i == start) break;
    ChunkInput chunk;
    chunk.byte_start = static_cast<int64_t>(start);
    chunk.byte_end = static_cast<int64_t>(i);
    chunk.cp_start = chunk.byte_start;
    chunk.cp_end = chunk.byte_end;
    chunk.page_first = chunk.page_last = 1;
    chunk.section_path = "Intro";
    chunk.n_tokens = 1;
    for (size_t j = start; j < i; ++j) chunk.keyword_text += static_cast<char>(std::tolower(text[j]));
    c.chunks.push_back(chunk);
  }
  std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(text)));
  std::normal_distribution<float> gauss;
  c.vectors.resize(c.chunks.size() * dims);
  for (auto& v : c.vectors) v = gauss(rng);
  for (size_t k = 0; k < c.chunks.size(); ++k) normalize(c.vectors.data() + k * dims, dims);
  return c;
}

//! Registers and commits a document; returns it (indexed).
inline Document add_document(Store& store, const Collection& coll, const std::string& name, const std::string& text,
                             const std::string& format = "txt", const std::string& metadata = "{}") {
  const Registration r = store.register_document(coll.id, draft(name, text, format, metadata));
  if (r.outcome != RegisterOutcome::kCreated && r.outcome != RegisterOutcome::kRetry) return r.document;
  return store.commit_document(r.document.id, content_of(text, static_cast<size_t>(coll.settings.dimensions)));
}

}  // namespace qembed::kb::testing
