#include "service/cache_key.hpp"

#include "service/model_fingerprint.hpp"

namespace qembed::service {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_string(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

}  // namespace

std::string CacheKey::bytes() const {
  // "qek1" | fingerprint | numeric path | n ids | ids, each id 4 bytes little-endian: stable across hosts.
  std::string out = "qek1";
  out.reserve(4 + 8 + model_fingerprint.size() + numeric_path.size() + 4 + 4 * ids.size());
  put_string(out, model_fingerprint);
  put_string(out, numeric_path);
  put_u32(out, static_cast<uint32_t>(ids.size()));
  for (int32_t id : ids) put_u32(out, static_cast<uint32_t>(id));
  return out;
}

uint64_t CacheKey::hash() const {
  const std::string b = bytes();
  return hash64(b.data(), b.size());
}

}  // namespace qembed::service
