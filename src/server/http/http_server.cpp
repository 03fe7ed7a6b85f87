#include "server/http/http_server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <utility>

#include "common/error.hpp"
#include "common/log.hpp"

namespace qembed::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

//! Body bytes reserved from HttpServer's budget; released exactly once (explicitly, or when destroyed).
class BodyReservation {
 public:
  BodyReservation() = default;
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  ~BodyReservation() { release(); }
  //! Reserves n bytes (n <= 0: nothing to hold); false when they do not fit.
  bool acquire(HttpServer& server, int64_t n) {
    release();
    if (n <= 0) return true;
    if (!server.reserve_body(n)) return false;
    server_ = &server;
    bytes_ = n;
    return true;
  }
  void release() {
    if (!server_) return;
    server_->release_body(bytes_);
    server_ = nullptr;
    bytes_ = 0;
  }

 private:
  HttpServer* server_ = nullptr;
  int64_t bytes_ = 0;
};

//! A WriteDone that runs exactly once: explicitly, or when destroyed (a response dropped with its connection or
//! with a stopped io_context still releases what it held).
class WriteDoneOnce {
 public:
  WriteDoneOnce() = default;
  explicit WriteDoneOnce(WriteDone f) : f_(std::move(f)) {}
  WriteDoneOnce(WriteDoneOnce&& o) noexcept : f_(std::exchange(o.f_, nullptr)) {}
  WriteDoneOnce& operator=(WriteDoneOnce&& o) noexcept {
    if (this != &o) {
      run();
      f_ = std::exchange(o.f_, nullptr);
    }
    return *this;
  }
  WriteDoneOnce(const WriteDoneOnce&) = delete;
  WriteDoneOnce& operator=(const WriteDoneOnce&) = delete;
  ~WriteDoneOnce() { run(); }
  void run() {
    if (WriteDone f = std::exchange(f_, nullptr)) f();
  }

 private:
  WriteDone f_;
};

//! A Beast body type whose bytes go to a BodySink as the parser produces them (nothing is kept in the message).
struct SinkBody {
  using value_type = std::shared_ptr<BodySink>;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& sink) : sink_(sink) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      size_t n = 0;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        if (!write(std::string_view(static_cast<const char*>(b.data()), b.size()))) {
          ec = net::error::make_error_code(net::error::no_buffer_space);  // Session::on_read asks the sink why
          return n;
        }
        n += b.size();
      }
      ec = {};
      return n;
    }
    void finish(beast::error_code& ec) {
      ec = {};
      bool ok = false;
      try {
        ok = sink_->finish();
      } catch (...) {
      }
      if (!ok) ec = net::error::make_error_code(net::error::no_buffer_space);
    }

   private:
    bool write(std::string_view bytes) {
      try {
        return sink_->write(bytes);
      } catch (...) {
        return false;  // a sink must not throw; if it does, the request fails with a 500 (on_read)
      }
    }
    value_type& sink_;
  };
};

}  // namespace

//! One connection: read a request, hand it to the handler, write its response, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server, const HttpOptions& options, const Handler& handler,
          const RejectHandler& reject, const HeaderCheck& check)
      : stream_(std::move(socket)),
        body_timer_(stream_.get_executor()),
        server_(server),
        options_(options),
        handler_(handler),
        reject_(reject),
        check_(check) {
    ++server_.stats().open_connections;
  }
  ~Session() {
    write_done_.run();
    body_.release();
    --server_.stats().open_connections;
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  //! Called from any thread with the response to the current request.
  void deliver(Response res, WriteDoneOnce done) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), res = std::move(res), done = std::move(done)]() mutable {
                self->write_response(std::move(res), std::move(done));
              });
  }

 private:
  class SessionExchange : public Exchange {
   public:
    explicit SessionExchange(std::shared_ptr<Session> s) : session_(std::move(s)) {}
    void respond(Response res, WriteDone done) override {
      WriteDoneOnce once(std::move(done));
      if (answered_.exchange(true)) return;  // `once` runs here: this response is never written
      std::shared_ptr<Session> s = std::move(session_);
      s->deliver(std::move(res), std::move(once));
    }

   private:
    std::shared_ptr<Session> session_;
    std::atomic<bool> answered_{false};
  };

  void read_request() {
    sink_parser_.reset();
    sink_.reset();
    parser_.emplace();
    // The body's limit depends on the route (a streamed upload has its own), known only once the header is read:
    // unlimited while the header is parsed (else Beast refuses a large Content-Length before the route is looked
    // at), then on_header sets it and checks the Content-Length itself. (Not boost::none: Beast 1.74 compares the
    // length with the optional, and every length is greater than none.)
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    parser_->header_limit(static_cast<uint32_t>(kHeaderLimitBytes));
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_s));
    // Header first: a client sending "Expect: 100-continue" (curl does for bodies over 1 MB) waits for the
    // interim response before sending its body.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  //! Answers a request whose body stays unread, and closes the connection after the response.
  void refuse(Response res) {
    res.keep_alive(false);  // the body stays unread: the stream cannot go on
    keep_alive_ = false;
    res.prepare_payload();
    send(std::move(res));
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    // Route, key and server state first: a request refused here never reserves or reads body bytes, so clients
    // without a key cannot take the body budget from those with one.
    if (check_) {
      HeaderVerdict verdict = check_(parser_->get());
      if (verdict.refusal) return refuse(std::move(*verdict.refusal));
      sink_ = std::move(verdict.sink);
    }
    const int64_t limit = sink_ ? sink_->limit_bytes() : options_.body_limit_bytes;
    if (auto n = parser_->content_length(); n && *n > static_cast<uint64_t>(limit)) {
      return refuse(reject_(413, body_limit_message(), &parser_->get()));
    }
    parser_->body_limit(static_cast<uint64_t>(limit));  // a chunked body is counted as it arrives
    // The body is read only once its bytes are reserved: Content-Length, or the whole limit when chunked; a streamed
    // body only what its sink holds in memory.
    int64_t need = 0;
    if (sink_) {
      need = sink_->memory_bytes();
    } else if (parser_->chunked()) {
      need = options_.body_limit_bytes;
    } else if (auto n = parser_->content_length()) {
      need = static_cast<int64_t>(*n);
    }
    if (!body_.acquire(server_, need)) {
      Response res = reject_(429,
                             "the server is buffering its limit of " + std::to_string(server_.body_budget()) +
                                 " request body bytes (--max-concurrent-requests x --payload-limit); retry later",
                             &parser_->get());
      return refuse(std::move(res));
    }
    // A body that stalls would hold its reservation: it must arrive within body_timeout_s. The timer cancels the
    // read; on_read then answers 408 (the stream's own timeout would close without a word).
    stream_.expires_never();
    body_timed_out_ = false;
    body_timer_.expires_after(std::chrono::seconds(options_.body_timeout_s));
    body_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the body arrived (or the connection ended)
      self->body_timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    if (sink_) {
      // From here on the body goes to the sink; the header moves into a parser of the sink's body type.
      sink_parser_.emplace(std::move(*parser_), sink_);
      sink_parser_->body_limit(static_cast<uint64_t>(std::max<int64_t>(0, sink_->limit_bytes())));
    }
    auto read_body = [self = shared_from_this()] {
      auto done = [self](beast::error_code ec, size_t) { self->on_read(ec); };
      if (self->sink_parser_) return http::async_read(self->stream_, self->buffer_, *self->sink_parser_, done);
      http::async_read(self->stream_, self->buffer_, *self->parser_, done);
    };
    const auto& req = sink_parser_ ? sink_parser_->get().base() : parser_->get().base();
    auto expect = req.find(http::field::expect);
    if (expect == req.end() || !beast::iequals(expect->value(), "100-continue")) return read_body();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue),
                     [read_body, self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       read_body();
                     });
  }

  //! Why a body is over its limit: the route's sink's own limit, or --payload-limit.
  std::string body_limit_message() const {
    if (sink_) return sink_->limit_message();
    return "request body is larger than the payload limit of " + std::to_string(options_.body_limit_bytes) + " bytes";
  }

  //! The current request's header as a Request (for answers made without the handler), or null before it was
  //! parsed.
  const Request* header_request() {
    if (sink_parser_) {
      header_copy_.emplace(sink_parser_->get().base());  // a copy: the streamed parser's message is not a Request
      return &*header_copy_;
    }
    return parser_ && parser_->is_header_done() ? &parser_->get() : nullptr;
  }

  void on_read(beast::error_code ec) {
    body_timer_.cancel();
    if (std::exchange(body_timed_out_, false) && ec) {
      body_.release();
      return refuse(reject_(408,
                            "the request body did not arrive within " + std::to_string(options_.body_timeout_s) +
                                " s of its header (--body-timeout)",
                            header_request()));
    }
    if (ec && sink_) {
      if (std::optional<SinkFailure> f = sink_->failure())
        return refuse(reject_(f->status, f->message, header_request()));
      if (ec == net::error::no_buffer_space) {
        return refuse(
            reject_(500, "the server could not receive the request body; the log has the details", header_request()));
      }
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof) return close();
    if (ec == beast::error::timeout || ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) {
      // Malformed HTTP, a header or a body over its limit: answer, then close (the rest of the stream cannot be
      // trusted). The read buffer is capped just above the header limit, so an overflow before the header is done
      // is a header too large as well.
      const bool header_done = sink_parser_ || parser_->is_header_done();
      const bool header_too_large =
          ec == http::error::header_limit || (ec == http::error::buffer_overflow && !header_done);
      const bool body_too_large =
          !header_too_large && (ec == http::error::body_limit || ec == http::error::buffer_overflow);
      int status = 400;
      std::string what = "malformed HTTP request: " + ec.message();
      if (header_too_large) {
        status = 431;
        what = "the request header is larger than the limit of " + std::to_string(kHeaderLimitBytes) +
               " bytes (request line and fields together)";
      } else if (body_too_large) {
        status = 413;
        what = body_limit_message();
      }
      return refuse(reject_(status, what, header_done ? header_request() : nullptr));
    }
    Request req;
    if (sink_parser_) {
      auto streamed = sink_parser_->release();
      req = Request(std::move(streamed.base()));
    } else {
      req = parser_->release();
    }
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
    if (!ignored) ex->remote_ip = ep.address().to_string();
    ex->remote = ignored ? std::string("?") : ex->remote_ip + ":" + std::to_string(ep.port());
    ex->body_sink = std::move(sink_);
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

  void write_response(Response res, WriteDoneOnce done) {
    write_done_ = std::move(done);
    if (watching_) {
      watching_ = false;
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // ends the disconnect watch
    }
    exchange_gone_.reset();
    if (server_.closing()) keep_alive_ = false;
    res.version(version_);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    send(std::move(res));
  }

  void send(Response res) {
    auto msg = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, size_t) {
      self->write_done_.run();
      if (self->counted_busy_) {
        self->counted_busy_ = false;
        --self->server_.busy_;
      }
      self->body_.release();
      if (ec) return self->close();
      if (!self->keep_alive_) return self->linger_close();
      if (self->buffer_.size() == 0) self->buffer_.shrink_to_fit();  // an idle connection holds no buffer
      self->read_request();
    });
  }

  // After a response with "Connection: close": stop sending, then read and discard what the client still sends
  // (an unread body) for a moment, so that closing does not reset the connection before the client has read the
  // response.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    buffer_.clear();
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    body_timer_.cancel();  // its wait holds the session (and its body reservation) alive
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  net::steady_timer body_timer_;  // the body's deadline (body_timeout_s after its header)
  HttpServer& server_;
  const HttpOptions& options_;
  const Handler& handler_;
  const RejectHandler& reject_;
  const HeaderCheck& check_;
  WriteDoneOnce write_done_;  // the handler's WriteDone for the response being written
  beast::flat_buffer buffer_{static_cast<size_t>(kConnectionBufferBytes)};
  BodyReservation body_;  // the current request's body bytes
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<BodySink> sink_;                             // the current request's streamed body, if it streams
  std::optional<http::request_parser<SinkBody>> sink_parser_;  // parser_ after the header, for a streamed body
  std::optional<Request> header_copy_;                         // for answers about a streamed request
  std::shared_ptr<std::atomic<bool>> exchange_gone_;
  bool keep_alive_ = true;
  bool watching_ = false;
  bool counted_busy_ = false;  // this connection holds one count of HttpServer::busy_
  bool body_timed_out_ = false;
  unsigned version_ = 11;
};

namespace {

//! The addresses `host` names, IPv4 first (so a printed URL is the common one), without duplicates.
std::vector<tcp::endpoint> resolve_host(net::io_context& ioc, const std::string& host, int port) {
  beast::error_code ec;
  std::vector<tcp::endpoint> out;
  if (auto address = net::ip::make_address(host, ec); !ec) {
    out.emplace_back(address, static_cast<unsigned short>(port));
    return out;
  }
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec) throw Error("--host " + host + " is neither an IP address nor a name that resolves: " + ec.message());
  for (const auto& r : results) {
    if (std::find(out.begin(), out.end(), r.endpoint()) == out.end()) out.push_back(r.endpoint());
  }
  std::stable_partition(out.begin(), out.end(), [](const tcp::endpoint& e) { return e.address().is_v4(); });
  if (out.empty()) throw Error("--host " + host + " resolves to no address");
  return out;
}

std::string url_host_of(const tcp::endpoint& e) {
  return e.address().is_v6() ? "[" + e.address().to_string() + "]" : e.address().to_string();
}

//! A 503 sent to a connection refused at accept (written without a session: the send buffer of a new socket is
//! empty).
std::string refusal_response(const std::string& message) {
  const std::string body =
      R"({"error":{"message":")" + message + R"(","type":"server_error","param":null,"code":"service_unavailable"}})";
  return "HTTP/1.1 503 Service Unavailable\r\nServer: qembed\r\nContent-Type: application/json\r\n"
         "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string& over_capacity_response() {
  static const std::string k503 = refusal_response("the server has its limit of open connections; retry later");
  return k503;
}

const std::string& out_of_descriptors_response() {
  static const std::string k503 = refusal_response("the server is out of file descriptors; retry later");
  return k503;
}

void send_and_close(int fd, const std::string& response) {
  [[maybe_unused]] ssize_t n = ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fd);
}

//! True at most once per `period`: a condition that repeats per connection is logged, not the log flooded.
class Every {
 public:
  explicit Every(std::chrono::seconds period) : period_(period) {}
  bool due() {
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    int64_t last = last_.load();
    const int64_t step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(period_).count();
    if (last != 0 && now - last < step) return false;
    return last_.compare_exchange_strong(last, now);
  }

 private:
  std::chrono::seconds period_;
  std::atomic<int64_t> last_{0};
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServer& server, const HttpOptions& options, Handler handler, RejectHandler reject, HeaderCheck check)
      : server(server),
        options(options),
        handler(std::move(handler)),
        reject(std::move(reject)),
        check(std::move(check)),
        spare_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}
  ~Impl() {
    if (spare_fd >= 0) ::close(spare_fd);
  }

  void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept(net::make_strand(server.ioc_), [this, &acceptor](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) {
        return out_of_descriptors(acceptor);
      }
      if (!ec && server.stats().open_connections.load() >= options.max_connections) {
        ++server.stats().connections_rejected_total;
        if (cap_logged.due()) {
          log::warn("refusing new connections with 503: " + std::to_string(options.max_connections) +
                    " connections are open (--max-connections)");
        }
        const std::string& k503 = over_capacity_response();
        [[maybe_unused]] ssize_t n =
            ::send(socket.native_handle(), k503.data(), k503.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        beast::error_code ignored;
        socket.close(ignored);
      } else if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), server, options, handler, reject, check)->start();
      }
      accept(acceptor);  // keep accepting after transient errors
    });
  }

  // The process is out of descriptors, so the pending connection cannot be accepted, and the listener stays
  // readable: re-arming at once would spin. Give the spare descriptor up for a moment to accept the connection and
  // answer it 503 (the client learns why instead of hanging), then take it back; when even that fails (the whole
  // system is out), pause accepting briefly.
  void out_of_descriptors(tcp::acceptor& acceptor) {
    bool answered = false;
    if (spare_fd >= 0) {
      ::close(spare_fd);
      spare_fd = -1;
      const int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        send_and_close(fd, out_of_descriptors_response());
        ++server.stats().connections_rejected_total;
        answered = true;
      }
      spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (fd_logged.due()) {
      struct rlimit rl {};
      ::getrlimit(RLIMIT_NOFILE, &rl);
      log::warn("out of file descriptors (limit " + std::to_string(static_cast<int64_t>(rl.rlim_cur)) + ", " +
                std::to_string(server.stats().open_connections.load()) +
                " connections open): new connections get 503; lower --max-connections or raise the limit (ulimit -n)");
    }
    if (answered) return accept(acceptor);
    auto pause = std::make_shared<net::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(100));
    pause->async_wait([this, &acceptor, pause](beast::error_code ec) {
      if (!ec && acceptor.is_open()) accept(acceptor);
    });
  }

  //! Binds one acceptor; the error message when it cannot.
  std::string listen(const tcp::endpoint& endpoint, bool v6_only) {
    auto a = std::make_unique<tcp::acceptor>(net::make_strand(server.ioc_));
    beast::error_code ec;
    a->open(endpoint.protocol(), ec);
    if (!ec) a->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6() && v6_only) a->set_option(net::ip::v6_only(true), ec);
    if (!ec) a->bind(endpoint, ec);
    if (!ec) a->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return ec.message();
    acceptors.push_back(std::move(a));
    return "";
  }

  HttpServer& server;
  HttpOptions options;
  Handler handler;
  RejectHandler reject;
  HeaderCheck check;
  int spare_fd = -1;  // /dev/null, given up to answer one connection when the process is out of descriptors
  Every cap_logged{std::chrono::seconds(10)}, fd_logged{std::chrono::seconds(10)};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
};

HttpServer::HttpServer(const HttpOptions& options, Handler handler, RejectHandler reject, HeaderCheck check)
    : ioc_(std::max(1, options.io_threads)) {
  if (options.stats) {
    stats_ = options.stats;
  } else {
    own_stats_ = std::make_unique<TransportStats>();
    stats_ = own_stats_.get();
  }
  body_budget_ = options.body_budget_bytes > 0 ? options.body_budget_bytes : 512 * options.body_limit_bytes;
  impl_ = std::make_unique<Impl>(*this, options, std::move(handler), std::move(reject), std::move(check));
  std::vector<tcp::endpoint> endpoints = resolve_host(ioc_, options.host, options.port);
  // The first address must bind; the others (e.g. ::1 besides 127.0.0.1 for "localhost") share its port and are
  // best effort, since a machine may have IPv6 switched off.
  const bool several = endpoints.size() > 1;
  if (std::string err = impl_->listen(endpoints[0], several); !err.empty()) {
    throw Error("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + err);
  }
  port_ = impl_->acceptors[0]->local_endpoint().port();
  url_host_ = url_host_of(endpoints[0]);
  for (size_t i = 1; i < endpoints.size(); ++i) {
    tcp::endpoint e = endpoints[i];
    e.port(static_cast<unsigned short>(port_));
    if (std::string err = impl_->listen(e, several); !err.empty()) {
      log::warn("not listening on " + url_host_of(e) + ":" + std::to_string(port_) + ": " + err);
    }
  }
}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::reserve_body(int64_t n) {
  std::atomic<int64_t>& used = stats_->body_bytes_reserved;
  int64_t cur = used.load();
  do {
    if (n > body_budget_ - cur) return false;
  } while (!used.compare_exchange_weak(cur, cur + n));
  return true;
}

void HttpServer::release_body(int64_t n) { stats_->body_bytes_reserved -= n; }

void HttpServer::start() {
  for (auto& a : impl_->acceptors) impl_->accept(*a);
  for (int i = 0; i < std::max(1, impl_->options.io_threads); ++i) {
    threads_.emplace_back([this] {
      // A handler that throws must not take the thread (and the process) down: log it and keep serving.
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          log::error(std::string("error in an I/O handler: ") + e.what());
        } catch (...) {
          log::error("unknown error in an I/O handler");
        }
      }
    });
  }
}

void HttpServer::stop_accepting() {
  for (auto& a : impl_->acceptors) {
    net::post(a->get_executor(), [acceptor = a.get()] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
}

void HttpServer::stop() {
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace qembed::server
