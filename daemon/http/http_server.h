// A small HTTP/1.1 server on Boost.Beast: keep-alive, bounded headers and
// bodies, read/idle timeouts, a cap on connections, HEAD without a body,
// Expect: 100-continue, and refusal (400, close) of transfer codings it
// cannot frame. Routing is the caller's: it hands in one handler, called on
// an I/O thread for every request (a HEAD too, whose body is then dropped).
//
//   auto server = HttpServer::Start({"127.0.0.1", 0, 2}, [](const HttpRequest& req) {
//     return HttpResponse{200, "text/plain", "hello"};
//   });
//   uint16_t port = (*server)->port();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace featmon {

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // path and query, undecoded
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;
  // Sent by another featmond instance proxying a lookup to this one (the
  // header kForwardedHeader): answer it here, never forward it again.
  bool forwarded = false;
};
inline constexpr const char* kForwardedHeader = "X-Featmon-Forwarded";

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string content_type, std::string body)
      : status(status), content_type(std::move(content_type)), body(std::move(body)) {}
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string www_authenticate;  // sent as WWW-Authenticate when not empty (with 401)
  std::string allow;             // sent as Allow when not empty (with 405): the methods the route takes
  std::string content_security_policy;  // sent as Content-Security-Policy when not empty (the pages)
  std::string retry_after;              // sent as Retry-After when not empty (with 503): seconds
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";    // address to bind. Default: loopback
  uint16_t port = 8080;              // 0 picks a free port. Default: 8080
  int threads = 2;                   // I/O threads. Default: 2
  size_t max_body_bytes = 1 << 20;   // larger bodies get 413. Default: 1 MiB
  size_t max_header_bytes = 8192;    // larger headers get 431. Default: 8 KiB
  int64_t idle_timeout_ms = 30'000;  // a connection must deliver each whole request this soon. Default: 30s
  size_t max_connections = 16'384;   // further connections are closed at once. Default: 16,384
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, HttpHandler handler);
  ~HttpServer();
  uint16_t port() const;
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  void Stop();

 struct Impl;  // defined in the .cpp; public so its sessions can name it

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace featmon
