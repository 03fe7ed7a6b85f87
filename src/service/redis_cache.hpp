#pragma once
// The shared second level of the embedding cache: pooled vectors in Redis, so replicas serving the same model on
// the same numeric path reuse each other's work. Redis is an optimisation, never a dependency: every lookup is
// bounded in time (one MGET per request, `timeout_ms` for the command, as much again when it must reconnect), and
// any failure — refused or dropped connection, timeout, an error reply, a value that does not decode — is a miss,
// counted in ServiceStats::cache_redis_errors_total. After a failure Redis is left alone for a backoff (100 ms,
// doubling to 10 s, reset by the next success). Writes go through a bounded queue to one background thread that
// pipelines `SET key value EX ttl`; a full queue or a Redis in backoff drops the write (counted).
//
// Key: prefix + hex SHA-256 of CacheKey::bytes() (fixed 64 characters whatever the input length).
// Value: a 16-byte header — magic "QEV\0", u16 format version (1), u16 float type (0: f32), u32 dims, u32 zero —
// then dims little-endian f32. Read back only when the size, magic, version, type and dims match and every value
// is finite.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "service/service_stats.hpp"

namespace qembed::service {

struct RedisCacheOptions {
  std::string url;                    //!< redis://[:password@]host[:port][/db] or unix:///path[?db=N]; "" -> off
  int64_t ttl_s = 86400;              //!< expiry of each written vector
  std::string prefix = "qembed:";     //!< before every key (several deployments may share one Redis)
  int64_t timeout_ms = 20;            //!< connect and command timeout of a lookup
  int64_t max_pending_writes = 4096;  //!< vectors waiting for the writer; past it a write is dropped
  int max_connections = 4;            //!< lookup connections at once; a lookup finding none free is a miss
};

//! Where a URL points. Throws Error naming the URL and what is wrong.
struct RedisAddress {
  std::string host;  //!< "" for a unix socket
  int port = 6379;
  std::string unix_path;  //!< "" for TCP
  std::string password;   //!< "" -> no AUTH
  int db = 0;
  static RedisAddress parse(const std::string& url);
};

class RedisCache {
 public:
  //! Checks the options (Error naming the flag's value), starts the writer. Connects lazily: a Redis down at start
  //! only means misses. `dims` is the pooled width every value must have.
  RedisCache(const RedisCacheOptions& options, int64_t dims, ServiceStats& stats);
  ~RedisCache();
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  //! The vectors under `keys` (CacheKey::bytes() each) in order, nullopt for a miss. Never throws; bounded in time.
  std::vector<std::optional<std::vector<float>>> get(const std::vector<std::string>& keys);
  //! Queues a write of `pooled` under `key` (CacheKey::bytes()); never blocks on Redis.
  void put(const std::string& key, std::span<const float> pooled);

  //! prefix + hex SHA-256 of the key bytes.
  static std::string redis_key(std::string_view prefix, std::string_view key_bytes);
  static std::string encode_value(std::span<const float> pooled);
  //! The vector in a value, or nullopt when it is not a well-formed value of `dims` finite floats.
  static std::optional<std::vector<float>> decode_value(std::string_view value, int64_t dims);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qembed::service
