#pragma once
// A model's identity by content: a 64-bit hash over the bytes of its file(s). The same bytes give the same value
// wherever they live; any changed weight or tokenizer byte changes it. Part of every cache key (cache_key.hpp).
//
// Hashing a multi-GB file on every start would be slow, so each file's hash is kept beside it in
// `<file>.qembed-fingerprint` (size, mtime, hash) and recomputed only when the size or mtime differ. Where the
// folder is read-only the value is kept in memory only (logged at debug level).
#include <cstddef>
#include <cstdint>
#include <string>

namespace qembed::service {

//! A fast streaming 64-bit hash, word at a time: four 64-bit lanes over 32-byte stripes, then a final mix (the
//! xxHash64 construction). Not cryptographic: it tells files apart, it does not defend against forgery.
class Hash64 {
 public:
  explicit Hash64(uint64_t seed = 0);
  void update(const void* data, size_t n_bytes);
  uint64_t digest() const;

 private:
  uint64_t lanes_[4];
  unsigned char buf_[32];
  size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t seed_;
};

//! Hash64 of one buffer.
uint64_t hash64(const void* data, size_t n_bytes, uint64_t seed = 0);

//! 16 lower-case hex digits.
std::string hex64(uint64_t value);

//! The hash of one file's bytes, from its sidecar when the size and mtime match, else computed (streaming) and
//! stored in the sidecar when the folder is writable. Throws Error (kIo) when the file cannot be read.
uint64_t file_content_hash(const std::string& path);

//! The fingerprint of a model path as hex: a GGUF file's content hash; for a HuggingFace folder, a hash over the
//! (name, content hash) pairs of the files the loader reads (config.json, tokenizer.json, *.safetensors and the
//! shard index), sorted by name, so the folder's own name and location do not matter.
std::string model_fingerprint(const std::string& model_path);

}  // namespace qembed::service
