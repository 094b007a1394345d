#include "daemon/http/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include "daemon/logging/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace featmon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One single-threaded io_context per I/O thread, each accepting on its own
// descriptor of one listening socket (dup): whichever thread is free takes a
// connection, and a connection never changes threads, so no handler takes a
// lock or wakes another thread. Measured: about twice the requests/s of one
// io_context shared by two threads on a 2-core machine. The socket is bound
// without SO_REUSEPORT, so a second process asking for the same port is
// refused instead of silently sharing it.
struct Loop {
  explicit Loop(HttpServer::Impl* server) : io(1), acceptor(io), server(server) {}
  asio::io_context io;
  tcp::acceptor acceptor;
  HttpServer::Impl* server;
  std::thread thread;
  void Accept();
};

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};
  uint16_t port = 0;
};

namespace {

// One connection: requests read and answered in turn (keep-alive). Headers
// are read first, so that the request can be refused (or told to go on, for
// Expect: 100-continue) before its body.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_->connections.fetch_sub(1); }

  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    // The deadline covers the whole request, headers and body.
    stream_.expires_after(std::chrono::milliseconds(server_->options.idle_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

 private:
  static bool Gone(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == asio::error::eof;
  }

  void OnHeader(beast::error_code ec) {
    if (Gone(ec)) return Close();
    if (ec) return Refuse(ec);
    const auto& req = parser_->get();
    // RFC 9112 §6.1: a request whose last transfer coding is not chunked has
    // no length a server can trust; what follows it could be read as a second
    // request (smuggling). 400, then close.
    if (req.find(http::field::transfer_encoding) != req.end() && !parser_->chunked())
      return Send(400, "{\"error\":\"Transfer-Encoding other than chunked is not supported\"}", false);
    if (!parser_->is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
      // The client waits (curl: 1 s) for this before it sends the body.
      continue_.emplace(http::status::continue_, req.version());
      http::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRead({});
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void Refuse(const beast::error_code& ec) {
    const int status = ec == http::error::body_limit ? 413 : ec == http::error::header_limit ? 431 : 400;
    Send(status, std::string("{\"error\":\"") + (status == 413 ? "body too large" : status == 431 ? "headers too large" : "malformed request") + "\"}",
         false);
  }

  void OnRead(beast::error_code ec) {
    if (Gone(ec)) return Close();
    if (ec) return Refuse(ec);
    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end()) request.authorization = std::string(it->value());
    request.forwarded = req.find(kForwardedHeader) != req.end();
    request.body = std::move(req.body());
    HttpResponse response;
    try {
      response = server_->handler(request);
    } catch (const std::exception& e) {
      // Handlers should not throw; if one does, the client gets a 500, the server lives.
      Log(Component::kHttp).error("handler threw: {}", e.what());
      response = {500, "application/json", "{\"error\":\"internal error\"}"};
    }
    res_ = {};
    res_.version(req.version());
    res_.result(static_cast<http::status>(response.status));
    res_.set(http::field::content_type, response.content_type);
    res_.set(http::field::server, "featmond");
    if (!response.www_authenticate.empty()) res_.set(http::field::www_authenticate, response.www_authenticate);
    if (!response.allow.empty()) res_.set(http::field::allow, response.allow);
    if (!response.content_security_policy.empty())
      res_.set("Content-Security-Policy", response.content_security_policy);
    if (!response.retry_after.empty()) res_.set(http::field::retry_after, response.retry_after);
    res_.body() = std::move(response.body);
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    // HEAD: the headers a GET would get, Content-Length included, and no body
    // (RFC 9110 §9.3.2); a body would be read as the next response.
    Write(req.method() == http::verb::head);
  }

  void Send(int status, std::string body, bool keep_alive) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<http::status>(status));
    res_.set(http::field::content_type, "application/json");
    res_.body() = std::move(body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    Write(false);
  }

  void Write(bool headers_only) {
    auto done = [self = shared_from_this()](beast::error_code ec, size_t) {
      self->serializer_.reset();
      if (ec || !self->res_.keep_alive()) return self->Close();
      self->Read();
    };
    serializer_.emplace(res_);
    if (headers_only) http::async_write_header(stream_, *serializer_, std::move(done));
    else http::async_write(stream_, *serializer_, std::move(done));
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
};

}  // namespace

void Loop::Accept() {
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    if (server->stopped) return;
    if (!ec) {
      if (server->connections.fetch_add(1) >= server->options.max_connections) {
        server->connections.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);  // over the cap: refuse rather than queue
      } else {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket), server)->Read();
      }
    }
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::InvalidArgument("http listen address '" + options.host + "': " + ec.message());
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.host + ":" + std::to_string(options.port);
  int listen_fd = -1;
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    auto loop = std::make_unique<Loop>(impl.get());
    if (i == 0) {
      loop->acceptor.open(endpoint.protocol(), ec);
      if (!ec) loop->acceptor.set_option(asio::socket_base::reuse_address(true), ec);  // restarts: TIME_WAIT only
      if (!ec) loop->acceptor.bind(endpoint, ec);
      if (ec == asio::error::address_in_use)
        return Status::Unavailable("http listen on " + where + ": " + ec.message() +
                                   " (another process listens there; give each featmond its own --http-listen)");
      if (!ec) loop->acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return Status::Unavailable("http listen on " + where + ": " + ec.message());
      listen_fd = loop->acceptor.native_handle();
    } else {
      const int fd = ::dup(listen_fd);
      if (fd < 0) return Status::Unavailable("http listen on " + where + ": dup: " + std::strerror(errno));
      loop->acceptor.assign(endpoint.protocol(), fd, ec);
      if (ec) {
        ::close(fd);
        return Status::Unavailable("http listen on " + where + ": " + ec.message());
      }
    }
    impl->loops.push_back(std::move(loop));
  }
  const uint16_t port = impl->loops.front()->acceptor.local_endpoint().port();
  impl->port = port;
  for (auto& loop : impl->loops) {
    loop->Accept();
    loop->thread = std::thread([io = &loop->io] {
      try {
        io->run();
      } catch (const std::exception& e) {
        Log(Component::kHttp).critical("I/O thread: {}", e.what());
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  for (auto& loop : impl_->loops) {
    asio::post(loop->io, [l = loop.get()] {
      beast::error_code ignored;
      l->acceptor.close(ignored);
    });
    loop->io.stop();
  }
  for (auto& loop : impl_->loops) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace featmon
