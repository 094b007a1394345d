#include "daemon/http/http_client.h"

#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace featmon {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpUrl> ParseHttpUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Status::InvalidArgument("'" + url + "' is not an http:// URL");
  std::string rest = url.substr(scheme.size());
  HttpUrl out;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  out.host = authority;
  out.port = "80";
  const size_t bracket = authority.find(']'), colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  }
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty() || out.port.empty()) return Status::InvalidArgument("'" + url + "' has no host");
  return out;
}

// Asynchronous operations on a private io_context, because a tcp_stream's
// expiry applies only to asynchronous calls: the blocking ones ignore it and
// would wait for a receiver that accepts and never answers for as long as
// the kernel keeps the connection. The stream's expiry bounds connect, write
// and read; run_for bounds the name resolution, which it does not cover.
Result<HttpAnswer> HttpExchange(const HttpUrl& url, const HttpCall& call) {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    http::request<http::string_body> req{http::string_to_verb(call.method), url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "featmon");
    if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
    if (!call.authorization.empty()) req.set(http::field::authorization, call.authorization);
    req.body() = call.body;
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    const auto timeout = std::chrono::milliseconds(call.timeout_ms);

    bool finished = false;
    beast::error_code failure;
    std::string failed_step;
    auto fail = [&](const char* step, beast::error_code ec) {
      finished = true;
      failure = ec;
      failed_step = step;
    };
    resolver.async_resolve(url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type endpoints) {
      if (ec) return fail("resolving", ec);
      stream.expires_after(timeout);
      stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
        if (ec) return fail("connecting", ec);
        http::async_write(stream, req, [&](beast::error_code ec, size_t) {
          if (ec) return fail("sending", ec);
          http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
            if (ec) return fail("reading the answer", ec);
            finished = true;
          });
        });
      });
    });
    io.run_for(timeout + std::chrono::milliseconds(100));  // the resolution's bound; the stream's is `timeout`
    const std::string where = url.host + ":" + url.port;
    const std::string within = " within " + std::to_string(call.timeout_ms) + " ms";
    if (!finished) return Status::Unavailable("no answer from " + where + within);
    if (failure == beast::error::timeout) return Status::Unavailable(failed_step + " " + where + ": no answer" + within);
    if (failure) return Status::Unavailable(failed_step + " " + where + ": " + failure.message());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return HttpAnswer{static_cast<int>(res.result_int()), std::move(res.body())};
  } catch (const std::exception& e) {  // Beast reports failures as exceptions; they stop here
    return Status::Unavailable(e.what());
  }
}

}  // namespace featmon
