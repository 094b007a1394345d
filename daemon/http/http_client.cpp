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

Result<HttpAnswer> HttpExchange(const HttpUrl& url, const HttpCall& call) {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(call.timeout_ms));
    stream.connect(resolver.resolve(url.host, url.port));
    http::request<http::string_body> req{http::string_to_verb(call.method), url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "featmon");
    if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
    if (!call.authorization.empty()) req.set(http::field::authorization, call.authorization);
    req.body() = call.body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return HttpAnswer{static_cast<int>(res.result_int()), std::move(res.body())};
  } catch (const std::exception& e) {  // Beast reports failures as exceptions; they stop here
    return Status::Unavailable(e.what());
  }
}

}  // namespace featmon
