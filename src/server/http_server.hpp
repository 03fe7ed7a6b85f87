#pragma once
// The event-driven HTTP/1.1 layer (Boost.Beast over Asio): a few I/O threads serve every connection, keep-alive,
// body size limit, idle timeout. A request is handed to the Handler together with an Exchange; the handler answers
// through Exchange::respond, at once or later from any thread (the inference worker), so no I/O thread ever
// blocks on a computation. While a request waits, the connection watches its socket and raises client_gone when
// the peer closes, so the scheduler can drop the work before computing it.
//
// Memory: a connection's read buffer is capped (kConnectionBufferBytes, headers up to kHeaderLimitBytes), at most
// max_connections are open (past it a connection is answered 503 and closed at once), and a request body is read
// only after its bytes are reserved from a server-wide budget (body_budget_bytes): Content-Length bytes, or the
// whole body limit for a chunked body. A request that does not fit is answered 429 without reading its body.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics.hpp"

namespace qembed::server {

//! Largest request header block (request line + fields).
inline constexpr int64_t kHeaderLimitBytes = 64 * 1024;
//! Cap of one connection's read buffer: a full header block plus one read's worth.
inline constexpr int64_t kConnectionBufferBytes = kHeaderLimitBytes + 16 * 1024;
//! Worst-case memory of one open connection besides its reserved body: the read buffer plus the session, parser
//! and socket state (a few KiB), rounded up.
inline constexpr int64_t kConnectionBytes = kConnectionBufferBytes + 16 * 1024;

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

//! One request on its way to a response.
class Exchange {
 public:
  virtual ~Exchange() = default;
  //! Sends the response (thread-safe; only the first call counts).
  virtual void respond(Response res) = 0;
  //! Raised when the client closed the connection before the response was sent.
  std::shared_ptr<std::atomic<bool>> client_gone = std::make_shared<std::atomic<bool>>(false);
  std::string remote;  //!< peer address, for logs
};

using Handler = std::function<void(Request&& req, std::shared_ptr<Exchange> ex)>;
//! Answers a request the HTTP layer rejected before the handler (status 400 bad HTTP, 413 body too large).
using RejectHandler = std::function<Response(int status, const std::string& message)>;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 1;
  int64_t body_limit_bytes = 2'000'000;
  int64_t idle_timeout_s = 60;
  int64_t max_connections = 4096;  //!< open connections; past it new ones get 503 and are closed
  int64_t body_budget_bytes = 0;   //!< request body bytes buffered at once; 0: 512 x body_limit_bytes
  Metrics* metrics = nullptr;      //!< connection and body-budget gauges (nullptr: kept privately)
};

class HttpServer {
 public:
  //! Binds and listens (throws Error naming host:port when it cannot), without serving yet.
  HttpServer(const HttpOptions& options, Handler handler, RejectHandler reject);
  ~HttpServer();

  //! The bound port (useful with port 0).
  int port() const { return port_; }
  //! Starts the I/O threads.
  void start();
  //! Stops accepting new connections; open ones keep being served.
  void stop_accepting();
  //! Stops the I/O threads (pending connections are dropped) and joins them.
  void stop();
  //! Responses sent after this carry "Connection: close".
  void set_closing() { closing_ = true; }
  bool closing_flag() const { return closing_.load(); }
  //! Requests received whose response has not been fully written yet.
  int64_t busy() const { return busy_.load(); }
  std::atomic<int64_t> busy_{0};
  boost::asio::io_context& io_context() { return ioc_; }
  //! Reserves n body bytes from the budget; false (nothing reserved) when they do not fit.
  bool reserve_body(int64_t n);
  void release_body(int64_t n);
  int64_t body_budget() const { return body_budget_; }
  Metrics& metrics() { return *metrics_; }

 private:
  // Declared before ioc_: a connection dropped when ioc_ is destroyed still releases its reservation into them.
  std::unique_ptr<Metrics> own_metrics_;
  Metrics* metrics_ = nullptr;
  int64_t body_budget_ = 0;
  boost::asio::io_context ioc_;  // declared before the rest: outlives the acceptor and every connection
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> closing_{false};
  friend struct Impl;
};

}  // namespace qembed::server
