#pragma once
// The event-driven HTTP/1.1 layer (Boost.Beast over Asio): a few I/O threads serve every connection, keep-alive,
// body size limit, idle timeout. A request is handed to the Handler together with an Exchange; the handler answers
// through Exchange::respond, at once or later from any thread (the inference worker), so no I/O thread ever
// blocks on a computation. While a request waits, the connection watches its socket and raises client_gone when
// the peer closes, so the scheduler can drop the work before computing it.
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

namespace qembed::server {

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

 private:
  boost::asio::io_context ioc_;  // declared first: outlives the acceptor and every connection
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> closing_{false};
  friend struct Impl;
};

}  // namespace qembed::server
