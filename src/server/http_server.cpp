#include "server/http_server.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "common/error.hpp"

namespace qembed::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

//! One connection: read a request, hand it to the handler, write its response, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server, const HttpOptions& options, const Handler& handler,
          const RejectHandler& reject)
      : stream_(std::move(socket)), server_(server), options_(options), handler_(handler), reject_(reject) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  //! Called from any thread with the response to the current request.
  void deliver(Response res) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), res = std::move(res)]() mutable { self->write_response(std::move(res)); });
  }

 private:
  class SessionExchange : public Exchange {
   public:
    explicit SessionExchange(std::shared_ptr<Session> s) : session_(std::move(s)) {}
    void respond(Response res) override {
      if (answered_.exchange(true)) return;
      std::shared_ptr<Session> s = std::move(session_);
      s->deliver(std::move(res));
    }

   private:
    std::shared_ptr<Session> session_;
    std::atomic<bool> answered_{false};
  };

  void read_request() {
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(options_.body_limit_bytes));
    parser_->header_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_s));
    // Header first: a client sending "Expect: 100-continue" (curl does for bodies over 1 MB) waits for the
    // interim response before sending its body.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    auto read_body = [self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->on_read(ec); });
    };
    const auto& req = parser_->get();
    auto expect = req.find(http::field::expect);
    if (expect == req.end() || !beast::iequals(expect->value(), "100-continue")) return read_body();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue),
                     [read_body, self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       read_body();
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) return close();
    if (ec == beast::error::timeout || ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) {
      // Malformed HTTP or a body over the limit: answer, then close (the rest of the stream cannot be trusted).
      const bool too_large =
          ec == http::error::body_limit || ec == http::error::buffer_overflow || ec == http::error::header_limit;
      std::string what = too_large ? "request body is larger than the payload limit of " +
                                         std::to_string(options_.body_limit_bytes) + " bytes"
                                   : "malformed HTTP request: " + ec.message();
      Response res = reject_(too_large ? 413 : 400, what);
      res.keep_alive(false);
      keep_alive_ = false;
      res.prepare_payload();
      return send(std::move(res));
    }
    Request req = parser_->release();
    ++server_.busy_;
    counted_busy_ = true;
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    stream_.expires_never();
    watch_for_disconnect();
    auto ex = std::make_shared<SessionExchange>(shared_from_this());
    exchange_gone_ = ex->client_gone;
    beast::error_code ignored;
    auto ep = stream_.socket().remote_endpoint(ignored);
    ex->remote = ignored ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
    handler_(std::move(req), std::move(ex));
  }

  // While the handler works, a readable socket means either a pipelined request or EOF/reset: peek to tell.
  void watch_for_disconnect() {
    watching_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->watching_) return;
      char byte;
      ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        if (self->exchange_gone_) *self->exchange_gone_ = true;
      }
    });
  }

  void write_response(Response res) {
    if (watching_) {
      watching_ = false;
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // ends the disconnect watch
    }
    exchange_gone_.reset();
    if (server_closing()) keep_alive_ = false;
    res.version(version_);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    send(std::move(res));
  }

  void send(Response res) {
    auto msg = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, size_t) {
      if (self->counted_busy_) {
        self->counted_busy_ = false;
        --self->server_.busy_;
      }
      if (ec || !self->keep_alive_) return self->close();
      self->read_request();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  bool server_closing() const;

  beast::tcp_stream stream_;
  HttpServer& server_;
  const HttpOptions& options_;
  const Handler& handler_;
  const RejectHandler& reject_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<std::atomic<bool>> exchange_gone_;
  bool keep_alive_ = true;
  bool watching_ = false;
  bool counted_busy_ = false;  // this connection holds one count of HttpServer::busy_
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServer& server, const HttpOptions& options, Handler handler, RejectHandler reject)
      : server(server),
        options(options),
        handler(std::move(handler)),
        reject(std::move(reject)),
        acceptor(net::make_strand(server.ioc_)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(server.ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), server, options, handler, reject)->start();
      }
      accept();  // keep accepting after transient errors (EMFILE, ...)
    });
  }

  HttpServer& server;
  HttpOptions options;
  Handler handler;
  RejectHandler reject;
  tcp::acceptor acceptor;
};

bool Session::server_closing() const { return server_.closing_flag(); }

HttpServer::HttpServer(const HttpOptions& options, Handler handler, RejectHandler reject)
    : ioc_(std::max(1, options.io_threads)) {
  impl_ = std::make_unique<Impl>(*this, options, std::move(handler), std::move(reject));
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  auto address = net::ip::make_address(options.host, ec);
  if (ec) throw Error("--host " + options.host + " is not an IP address: " + ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error("cannot listen on " + where + ": " + ec.message());
  port_ = a.local_endpoint().port();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  impl_->accept();
  for (int i = 0; i < std::max(1, impl_->options.io_threads); ++i) {
    threads_.emplace_back([this] {
      // A handler that throws must not take the thread (and the process) down: log it and keep serving.
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "qembed: error in an I/O handler: %s\n", e.what());
        } catch (...) {
          std::fprintf(stderr, "qembed: unknown error in an I/O handler\n");
        }
      }
    });
  }
}

void HttpServer::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
}

void HttpServer::stop() {
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace qembed::server
