#pragma once
// The event-driven HTTP/1.1 transport (Boost.Beast over Asio): a few I/O threads serve every connection, with
// keep-alive, a body size limit and an idle timeout. It knows nothing about routes or APIs: a request is handed to
// the Handler together with an Exchange; the handler answers through Exchange::respond, at once or later from any
// thread (the inference worker), so no I/O thread ever blocks on a computation. While a request waits, the
// connection watches its socket and raises client_gone when the peer closes, so queued work can be dropped.
//
// Memory: a connection's read buffer is capped (kConnectionBufferBytes, headers up to kHeaderLimitBytes; a larger
// header is answered 431), at most max_connections are open (past it, or when the process is out of descriptors, a
// connection is answered 503 and closed at once), and a request body is read only after the HeaderCheck let it
// through (so an unauthenticated client cannot hold body memory) and its bytes are reserved from a server-wide
// budget (body_budget_bytes): Content-Length bytes, or the whole body limit for a chunked body. A request that does
// not fit is answered 429 without reading its body; a body that does not arrive within body_timeout_s is answered
// 408 and its reservation released. A connection holds one response at a time: the next request is read only once
// the response is written, and the handler learns when that happened (WriteDone), so it can hold what the response
// costs (a concurrency slot, response bytes) until then.
//
// Streamed bodies: the HeaderCheck may hand a request a BodySink (an upload route does, for multipart bodies).
// Its body is then fed to the sink as it arrives instead of being buffered: the sink has its own size limit (413
// past it) and the body budget reserves only the sink's memory, not the body's size. Key, header and timeout rules
// are the same as for any body.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/http/transport_stats.hpp"

namespace qembed::server {

//! Largest request header block (request line + fields).
inline constexpr int64_t kHeaderLimitBytes = 64 * 1024;
//! Cap of one connection's read buffer: a full header block plus one read's worth.
inline constexpr int64_t kConnectionBufferBytes = kHeaderLimitBytes + 16 * 1024;
//! Largest response a handler may send without reserving it from a budget first: errors (their messages are
//! capped), /health, /metrics, /openapi.json, the model descriptions.
inline constexpr int64_t kSmallResponseBytes = 32 * 1024;
//! Worst-case memory of one open connection besides its reserved body and response bytes: the read buffer, the
//! session, parser and socket state (a few KiB, rounded up to 16), and one small response being written.
inline constexpr int64_t kConnectionBytes = kConnectionBufferBytes + 16 * 1024 + kSmallResponseBytes;

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

//! Called once per response, on the connection's I/O thread, after the response was fully written or could not be
//! (write error or timeout, or the connection was dropped first).
using WriteDone = std::function<void()>;

//! Why a BodySink stopped reading a body: the status and message the request is answered with.
struct SinkFailure {
  int status = 400;
  std::string message;
};

//! Receives a request body as it arrives (de-chunked), for routes that must not hold a body in memory. Called on
//! the connection's I/O thread, one call at a time.
class BodySink {
 public:
  virtual ~BodySink() = default;
  //! The next bytes of the body; false stops reading (the request is answered with failure(), the connection
  //! closed).
  virtual bool write(std::string_view bytes) = 0;
  //! The body is complete; false as for write().
  virtual bool finish() = 0;
  //! Set once write() or finish() returned false.
  virtual std::optional<SinkFailure> failure() const = 0;
  //! Most body bytes accepted; past it the request is answered 413 with limit_message().
  virtual int64_t limit_bytes() const = 0;
  virtual std::string limit_message() const = 0;
  //! Memory the sink holds while it receives: reserved from the body budget in place of the body's size.
  virtual int64_t memory_bytes() const = 0;
};

//! One request on its way to a response.
class Exchange {
 public:
  virtual ~Exchange() = default;
  //! Sends the response (thread-safe; only the first call counts). `done` (optional) runs exactly once when the
  //! write is over, whatever its outcome, also when the connection is destroyed before writing; for a later
  //! call that does not count, it runs at once.
  virtual void respond(Response res, WriteDone done = {}) = 0;
  //! Raised when the client closed the connection before the response was sent.
  std::shared_ptr<std::atomic<bool>> client_gone = std::make_shared<std::atomic<bool>>(false);
  std::string remote;     //!< peer address and port, for logs
  std::string remote_ip;  //!< peer address alone ("" when unknown), for per-client limits
  //! The sink a streamed body went into (the request's own body is then empty); null for a buffered body.
  std::shared_ptr<BodySink> body_sink;
};

using Handler = std::function<void(Request&& req, std::shared_ptr<Exchange> ex)>;
//! Answers a request the transport rejected before the handler: 400 malformed HTTP, 408 body too slow, 413 body
//! over the limit, 429 body budget exhausted, 431 header over the limit. `header` is the request's header when it
//! was parsed (nullptr otherwise).
using RejectHandler = std::function<Response(int status, const std::string& message, const Request* header)>;
//! What a HeaderCheck decided about a request from its header alone.
struct HeaderVerdict {
  //! Set: the request is refused (401, 403, 404, 503...) and answered without reading its body, then the
  //! connection is closed.
  std::optional<Response> refusal;
  //! Set: the body streams into this sink instead of being buffered (see BodySink).
  std::shared_ptr<BodySink> sink;
};
//! Looks at a request's header before its body is reserved or read.
using HeaderCheck = std::function<HeaderVerdict(const Request& header)>;

struct HttpOptions {
  std::string host = "127.0.0.1";  //!< a numeric address or a name ("localhost": every address it resolves to)
  int port = 8080;                 //!< 0: a free port (the same one on every resolved address)
  int io_threads = 1;
  int64_t body_limit_bytes = 2'000'000;
  int64_t idle_timeout_s = 60;
  int64_t body_timeout_s = 30;      //!< a body must arrive within this many seconds of its header (else 408)
  int64_t max_connections = 4096;   //!< open connections; past it new ones get 503 and are closed
  int64_t body_budget_bytes = 0;    //!< request body bytes buffered at once; 0: 512 x body_limit_bytes
  TransportStats* stats = nullptr;  //!< connection and body-budget counters (nullptr: kept privately)
};

class HttpServer {
 public:
  //! Resolves the host, binds and listens (throws Error naming host:port when it cannot), without serving yet.
  HttpServer(const HttpOptions& options, Handler handler, RejectHandler reject, HeaderCheck check = {});
  ~HttpServer();

  //! The bound port (useful with port 0).
  int port() const { return port_; }
  //! The first bound address as it goes in a URL ("127.0.0.1", "[::1]").
  const std::string& url_host() const { return url_host_; }
  //! Starts the I/O threads.
  void start();
  //! Stops accepting new connections; open ones keep being served.
  void stop_accepting();
  //! Stops the I/O threads (pending connections are dropped) and joins them.
  void stop();
  //! Responses sent after this carry "Connection: close".
  void set_closing() { closing_ = true; }
  bool closing() const { return closing_.load(); }
  //! Requests received whose response has not been fully written yet.
  int64_t busy() const { return busy_.load(); }
  boost::asio::io_context& io_context() { return ioc_; }
  //! Reserves n body bytes from the budget; false (nothing reserved) when they do not fit.
  bool reserve_body(int64_t n);
  void release_body(int64_t n);
  int64_t body_budget() const { return body_budget_; }
  TransportStats& stats() { return *stats_; }

 private:
  friend class Session;
  // Declared before ioc_: a connection dropped when ioc_ is destroyed still releases its reservation into them.
  std::unique_ptr<TransportStats> own_stats_;
  TransportStats* stats_ = nullptr;
  int64_t body_budget_ = 0;
  std::atomic<int64_t> busy_{0};
  boost::asio::io_context ioc_;  // declared before the rest: outlives the acceptors and every connection
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::string url_host_;
  std::atomic<bool> closing_{false};
};

}  // namespace qembed::server
