#include "service/redis_cache.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"

#ifdef QEMBED_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

namespace qembed::service {

using Clock = std::chrono::steady_clock;

namespace {

constexpr char kMagic[4] = {'Q', 'E', 'V', '\0'};
constexpr uint16_t kFormatVersion = 1;
constexpr uint16_t kFloatF32 = 0;
constexpr size_t kHeaderBytes = 16;
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(10000);
// Writes are off the request path: a pipeline of many SETs may take longer than a lookup's bound.
constexpr int64_t kMinWriteTimeoutMs = 1000;
constexpr size_t kWritesPerPipeline = 256;

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint16_t get_u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

int parse_int(const std::string& s, const std::string& url, const char* what, int lo, int hi) {
  char* end = nullptr;
  const long v = s.empty() ? -1 : std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi) {
    throw Error("redis URL \"" + url + "\": " + what + " must be a number from " + std::to_string(lo) + " to " +
                std::to_string(hi) + ", got \"" + s + "\"");
  }
  return static_cast<int>(v);
}

}  // namespace

RedisAddress RedisAddress::parse(const std::string& url) {
  RedisAddress a;
  if (url.rfind("unix://", 0) == 0) {
    std::string rest = url.substr(7);
    if (const size_t q = rest.find("?db="); q != std::string::npos) {
      a.db = parse_int(rest.substr(q + 4), url, "the database", 0, 1 << 20);
      rest.resize(q);
    }
    if (rest.empty() || rest[0] != '/') throw Error("redis URL \"" + url + "\": expected unix:///path/to/socket");
    a.unix_path = rest;
    return a;
  }
  if (url.rfind("redis://", 0) != 0) {
    throw Error("redis URL \"" + url + "\": expected redis://[:password@]host[:port][/db] or unix:///path");
  }
  std::string rest = url.substr(8);
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (slash + 1 < rest.size()) a.db = parse_int(rest.substr(slash + 1), url, "the database", 0, 1 << 20);
    rest.resize(slash);
  }
  if (const size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    a.password = auth.substr(auth.find(':') == std::string::npos ? 0 : auth.find(':') + 1);
    rest = rest.substr(at + 1);
  }
  if (!rest.empty() && rest[0] == '[') {  // [::1]:6379
    const size_t close = rest.find(']');
    if (close == std::string::npos) throw Error("redis URL \"" + url + "\": unclosed [ in the host");
    a.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') a.port = parse_int(rest.substr(1), url, "the port", 1, 65535);
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    a.host = rest.substr(0, colon);
    a.port = parse_int(rest.substr(colon + 1), url, "the port", 1, 65535);
  } else {
    a.host = rest;
  }
  if (a.host.empty()) throw Error("redis URL \"" + url + "\": no host");
  return a;
}

std::string RedisCache::redis_key(std::string_view prefix, std::string_view key_bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(key_bytes.data(), key_bytes.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out(prefix);
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string RedisCache::encode_value(std::span<const float> pooled) {
  std::string out(kMagic, 4);
  put_u16(out, kFormatVersion);
  put_u16(out, kFloatF32);
  put_u32(out, static_cast<uint32_t>(pooled.size()));
  put_u32(out, 0);
  for (float f : pooled) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    put_u32(out, bits);
  }
  return out;
}

std::optional<std::vector<float>> RedisCache::decode_value(std::string_view value, int64_t dims) {
  if (dims <= 0 || value.size() != kHeaderBytes + 4 * static_cast<size_t>(dims)) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  if (std::memcmp(p, kMagic, 4) != 0 || get_u16(p + 4) != kFormatVersion || get_u16(p + 6) != kFloatF32 ||
      get_u32(p + 8) != static_cast<uint32_t>(dims) || get_u32(p + 12) != 0) {
    return std::nullopt;
  }
  std::vector<float> out(static_cast<size_t>(dims));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t bits = get_u32(p + kHeaderBytes + 4 * i);
    std::memcpy(&out[i], &bits, 4);
    if (!std::isfinite(out[i])) return std::nullopt;
  }
  return out;
}

#ifdef QEMBED_HAVE_HIREDIS

namespace {

timeval to_timeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

//! Runs one command; true when it answered without an error reply.
bool simple_command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  const bool ok = r && r->type != REDIS_REPLY_ERROR;
  if (r) freeReplyObject(r);
  return ok;
}

}  // namespace

struct RedisCache::State {
  RedisCacheOptions o;
  RedisAddress addr;
  int64_t dims = 0;
  ServiceStats& stats;
  std::string ttl;

  // Backoff after a failure, shared by lookups and the writer: they reach the same Redis.
  std::mutex backoff_mu;
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff = kFirstBackoff;
  bool healthy = true;

  std::mutex pool_mu;
  std::vector<redisContext*> idle;  // connected lookup connections not in use
  int open = 0;                     // lookup connections, idle or in use

  std::mutex write_mu;
  std::condition_variable write_cv;
  std::deque<std::pair<std::string, std::string>> writes;  // (redis key, value)
  bool stopping = false;
  std::thread writer;
  redisContext* write_ctx = nullptr;  // the writer's own

  State(const RedisCacheOptions& options, ServiceStats& s)
      : o(options), addr(RedisAddress::parse(options.url)), stats(s) {}

  bool available() {
    std::lock_guard lock(backoff_mu);
    return Clock::now() >= retry_at;
  }

  void failed(const std::string& what) {
    ++stats.cache_redis_errors_total;
    std::lock_guard lock(backoff_mu);
    retry_at = Clock::now() + backoff;
    if (healthy) {
      log::warn("redis cache unavailable; serving computed vectors and retrying with backoff",
                {log::field("url", o.url), log::field("error", what)});
    }
    healthy = false;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }

  void succeeded() {
    std::lock_guard lock(backoff_mu);
    backoff = kFirstBackoff;
    if (!healthy) log::info("redis cache reachable again", {log::field("url", o.url)});
    healthy = true;
  }

  //! A new connection within `timeout_ms`, authenticated and on its database; null (failure counted) otherwise.
  redisContext* connect(int64_t timeout_ms) {
    const timeval tv = to_timeval(timeout_ms);
    redisContext* c = addr.unix_path.empty() ? redisConnectWithTimeout(addr.host.c_str(), addr.port, tv)
                                             : redisConnectUnixWithTimeout(addr.unix_path.c_str(), tv);
    if (!c || c->err) {
      failed(c ? std::string("connect: ") + c->errstr : "connect: out of memory");
      if (c) redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, tv);
    if ((!addr.password.empty() && !simple_command(c, {"AUTH", addr.password})) ||
        (addr.db != 0 && !simple_command(c, {"SELECT", std::to_string(addr.db)}))) {
      failed(c->err ? std::string("AUTH/SELECT: ") + c->errstr : "AUTH/SELECT refused");
      redisFree(c);
      return nullptr;
    }
    return c;
  }

  redisContext* take_lookup_connection() {
    {
      std::lock_guard lock(pool_mu);
      if (!idle.empty()) {
        redisContext* c = idle.back();
        idle.pop_back();
        return c;
      }
      if (open >= o.max_connections) return nullptr;  // all busy: a miss, not a wait
      ++open;
    }
    redisContext* c = connect(o.timeout_ms);
    if (!c) {
      std::lock_guard lock(pool_mu);
      --open;
    }
    return c;
  }

  void give_back(redisContext* c, bool broken) {
    std::lock_guard lock(pool_mu);
    if (broken) {
      redisFree(c);
      --open;
    } else {
      idle.push_back(c);
    }
  }

  void writer_loop();
  void write_pipeline(std::vector<std::pair<std::string, std::string>>& batch);
};

void RedisCache::State::writer_loop() {
  for (;;) {
    std::vector<std::pair<std::string, std::string>> batch;
    {
      std::unique_lock lock(write_mu);
      write_cv.wait(lock, [&] { return stopping || !writes.empty(); });
      if (stopping) return;  // pending writes are dropped: a cache, and shutdown must not wait on Redis
      while (!writes.empty() && batch.size() < kWritesPerPipeline) {
        batch.push_back(std::move(writes.front()));
        writes.pop_front();
      }
    }
    write_pipeline(batch);
  }
}

void RedisCache::State::write_pipeline(std::vector<std::pair<std::string, std::string>>& batch) {
  const auto n = static_cast<int64_t>(batch.size());
  if (!write_ctx && available()) write_ctx = connect(std::max(o.timeout_ms, kMinWriteTimeoutMs));
  if (!write_ctx) {
    stats.cache_redis_dropped_writes_total += n;
    return;
  }
  for (const auto& [key, value] : batch) {
    const char* argv[5] = {"SET", key.data(), value.data(), "EX", ttl.data()};
    const size_t lens[5] = {3, key.size(), value.size(), 2, ttl.size()};
    redisAppendCommandArgv(write_ctx, 5, argv, lens);
  }
  for (int64_t i = 0; i < n; ++i) {
    void* r = nullptr;
    if (redisGetReply(write_ctx, &r) != REDIS_OK || !r) {
      failed(std::string("SET: ") + (write_ctx->err ? write_ctx->errstr : "no reply"));
      redisFree(write_ctx);
      write_ctx = nullptr;
      stats.cache_redis_dropped_writes_total += n - i;
      return;
    }
    if (static_cast<redisReply*>(r)->type == REDIS_REPLY_ERROR) ++stats.cache_redis_errors_total;
    freeReplyObject(r);
  }
  succeeded();
}

RedisCache::RedisCache(const RedisCacheOptions& options, int64_t dims, ServiceStats& stats)
    : state_(std::make_unique<State>(options, stats)) {
  State& s = *state_;
  if (options.ttl_s < 1) throw Error("the redis cache TTL must be at least 1 second");
  if (options.timeout_ms < 1) throw Error("the redis cache timeout must be at least 1 ms");
  if (options.max_connections < 1 || options.max_pending_writes < 1) {
    throw Error("the redis cache needs at least one connection and room for one pending write");
  }
  s.dims = dims;
  s.ttl = std::to_string(options.ttl_s);
  s.writer = std::thread([&s] { s.writer_loop(); });
}

RedisCache::~RedisCache() {
  State& s = *state_;
  {
    std::lock_guard lock(s.write_mu);
    s.stopping = true;
  }
  s.write_cv.notify_all();
  if (s.writer.joinable()) s.writer.join();
  if (s.write_ctx) redisFree(s.write_ctx);
  for (redisContext* c : s.idle) redisFree(c);
}

std::vector<std::optional<std::vector<float>>> RedisCache::get(const std::vector<std::string>& keys) {
  State& s = *state_;
  std::vector<std::optional<std::vector<float>>> out(keys.size());
  if (keys.empty() || !s.available()) return out;
  const Clock::time_point t0 = Clock::now();
  redisContext* c = s.take_lookup_connection();
  if (!c) return out;
  std::vector<std::string> args;
  args.reserve(keys.size() + 1);
  args.emplace_back("MGET");
  for (const std::string& k : keys) args.push_back(redis_key(s.o.prefix, k));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    s.failed(std::string("MGET: ") + (c->err ? c->errstr : "no reply"));
    s.give_back(c, true);
  } else {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) {
      s.failed("MGET: unexpected reply type " + std::to_string(r->type));
    } else {
      for (size_t i = 0; i < keys.size(); ++i) {
        const redisReply* e = r->element[i];
        if (e->type == REDIS_REPLY_NIL) continue;
        if (e->type == REDIS_REPLY_STRING) out[i] = decode_value(std::string_view(e->str, e->len), s.dims);
        if (!out[i]) ++s.stats.cache_redis_errors_total;  // garbage under our key: a miss, counted
      }
      s.succeeded();
    }
    freeReplyObject(r);
    s.give_back(c, false);
  }
  if (s.stats.on_cache_redis_lookup)
    s.stats.on_cache_redis_lookup(std::chrono::duration<double>(Clock::now() - t0).count());
  return out;
}

void RedisCache::put(const std::string& key, std::span<const float> pooled) {
  State& s = *state_;
  std::string k = redis_key(s.o.prefix, key);
  std::string v = encode_value(pooled);
  {
    std::lock_guard lock(s.write_mu);
    if (static_cast<int64_t>(s.writes.size()) >= s.o.max_pending_writes) {
      ++s.stats.cache_redis_dropped_writes_total;
      return;
    }
    s.writes.emplace_back(std::move(k), std::move(v));
  }
  s.write_cv.notify_one();
}

#else  // built without hiredis

struct RedisCache::State {};

RedisCache::RedisCache(const RedisCacheOptions& options, int64_t, ServiceStats&) {
  RedisAddress::parse(options.url);
  throw Error("this qembed was built without hiredis (apt install libhiredis-dev, then rebuild): --cache-redis " +
              options.url + " is not available");
}
RedisCache::~RedisCache() = default;
std::vector<std::optional<std::vector<float>>> RedisCache::get(const std::vector<std::string>& keys) {
  return std::vector<std::optional<std::vector<float>>>(keys.size());
}
void RedisCache::put(const std::string&, std::span<const float>) {}

#endif

}  // namespace qembed::service
