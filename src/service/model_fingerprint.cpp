#include "service/model_fingerprint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::service {

namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // little-endian hosts only (x86-64, aarch64): the value is stored in sidecars
  return v;
}
inline uint64_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t round64(uint64_t acc, uint64_t word) { return rotl(acc + word * kP2, 31) * kP1; }
inline uint64_t merge(uint64_t h, uint64_t lane) { return (h ^ round64(0, lane)) * kP1 + kP4; }

constexpr const char* kSidecarSuffix = ".qembed-fingerprint";
constexpr const char* kSidecarMagic = "qembed-fingerprint v1";

}  // namespace

Hash64::Hash64(uint64_t seed) : seed_(seed) {
  lanes_[0] = seed + kP1 + kP2;
  lanes_[1] = seed + kP2;
  lanes_[2] = seed;
  lanes_[3] = seed - kP1;
}

void Hash64::update(const void* data, size_t n_bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_bytes_ += n_bytes;
  if (buf_len_ > 0) {
    const size_t take = std::min(n_bytes, sizeof buf_ - buf_len_);
    std::memcpy(buf_ + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    n_bytes -= take;
    if (buf_len_ < sizeof buf_) return;
    for (int i = 0; i < 4; ++i) lanes_[i] = round64(lanes_[i], load64(buf_ + 8 * i));
    buf_len_ = 0;
  }
  // Stripes of 32 bytes: each lane takes one 8-byte word.
  while (n_bytes >= 32) {
    lanes_[0] = round64(lanes_[0], load64(p));
    lanes_[1] = round64(lanes_[1], load64(p + 8));
    lanes_[2] = round64(lanes_[2], load64(p + 16));
    lanes_[3] = round64(lanes_[3], load64(p + 24));
    p += 32;
    n_bytes -= 32;
  }
  std::memcpy(buf_, p, n_bytes);
  buf_len_ = n_bytes;
}

uint64_t Hash64::digest() const {
  uint64_t h;
  if (total_bytes_ >= 32) {
    h = rotl(lanes_[0], 1) + rotl(lanes_[1], 7) + rotl(lanes_[2], 12) + rotl(lanes_[3], 18);
    for (uint64_t lane : lanes_) h = merge(h, lane);
  } else {
    h = seed_ + kP5;
  }
  h += total_bytes_;
  const unsigned char* p = buf_;
  size_t n = buf_len_;
  for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ round64(0, load64(p)), 27) * kP1 + kP4;
  if (n >= 4) {
    h = rotl(h ^ (load32(p) * kP1), 23) * kP2 + kP3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; ++p, --n) h = rotl(h ^ (*p * kP5), 11) * kP1;
  // Final avalanche: every input bit affects every output bit.
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t hash64(const void* data, size_t n_bytes, uint64_t seed) {
  Hash64 h(seed);
  h.update(data, n_bytes);
  return h.digest();
}

std::string hex64(uint64_t value) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) s[static_cast<size_t>(i)] = digits[value & 15];
  return s;
}

namespace {

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(path + ": cannot stat: " + std::strerror(errno));
  return {static_cast<uint64_t>(st.st_size), int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

uint64_t hash_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open to fingerprint: " + std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<unsigned char> buf(size_t{8} << 20);
  Hash64 h;
  for (;;) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw IoError(path + ": read failed while fingerprinting: " + std::strerror(err));
    }
    if (got == 0) break;
    h.update(buf.data(), static_cast<size_t>(got));
  }
  ::close(fd);
  return h.digest();
}

//! The hash recorded for `stamp`, if the sidecar holds one.
bool read_sidecar(const std::string& sidecar, const FileStamp& stamp, uint64_t& hash) {
  std::ifstream in(sidecar);
  if (!in) return false;
  std::string magic;
  std::getline(in, magic);
  std::string k1, k2, k3, hex;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  if (magic != kSidecarMagic || !(in >> k1 >> size >> k2 >> mtime_ns >> k3 >> hex) || k1 != "size" ||
      k2 != "mtime_ns" || k3 != "hash" || hex.size() != 16) {
    return false;
  }
  if (size != stamp.size || mtime_ns != stamp.mtime_ns) return false;
  char* end = nullptr;
  hash = std::strtoull(hex.c_str(), &end, 16);
  return end == hex.c_str() + 16;
}

void write_sidecar(const std::string& sidecar, const FileStamp& stamp, uint64_t hash) {
  // A temporary name then rename: a concurrent reader never sees half a sidecar.
  const std::string tmp = sidecar + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      log::debug("model fingerprint kept in memory only: cannot write beside the model",
                 {log::field("path", sidecar), log::field("reason", std::strerror(errno))});
      return;
    }
    out << kSidecarMagic << "\nsize " << stamp.size << "\nmtime_ns " << stamp.mtime_ns << "\nhash " << hex64(hash)
        << "\n";
    if (!out.flush()) {
      out.close();
      std::remove(tmp.c_str());
      log::debug("model fingerprint kept in memory only: write failed", {log::field("path", sidecar)});
      return;
    }
  }
  if (std::rename(tmp.c_str(), sidecar.c_str()) != 0) {
    std::remove(tmp.c_str());
    log::debug("model fingerprint kept in memory only: rename failed", {log::field("path", sidecar)});
  }
}

}  // namespace

uint64_t file_content_hash(const std::string& path) {
  const FileStamp before = stamp_of(path);
  const std::string sidecar = path + kSidecarSuffix;
  uint64_t hash = 0;
  if (read_sidecar(sidecar, before, hash)) return hash;
  hash = hash_file_bytes(path);
  // A file rewritten while it was read has no trustworthy hash to keep.
  const FileStamp after = stamp_of(path);
  if (after.size == before.size && after.mtime_ns == before.mtime_ns) write_sidecar(sidecar, before, hash);
  return hash;
}

std::string model_fingerprint(const std::string& model_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(model_path, ec)) return hex64(file_content_hash(model_path));
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(model_path, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    const bool weights = name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json");
    if (weights || name == "config.json" || name == "tokenizer.json") names.push_back(name);
  }
  if (ec) throw IoError(model_path + ": cannot list the model folder: " + ec.message());
  std::sort(names.begin(), names.end());
  Hash64 h;
  for (const std::string& name : names) {
    const std::string line = name + '\0' + hex64(file_content_hash((fs::path(model_path) / name).string())) + '\n';
    h.update(line.data(), line.size());
  }
  return hex64(h.digest());
}

}  // namespace qembed::service
