#include "tests/common/http_client.h"

#include "tests/common/beast_http_client.h"

namespace featmon::testing {

boost::beast::tcp_stream ConnectHttp(boost::asio::io_context& io, uint16_t port) {
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  return stream;
}

HttpResult SendHttp(boost::beast::tcp_stream& stream, const std::string& method, const std::string& target,
                    const std::string& body, const HttpHeaders& headers) {
  namespace http = boost::beast::http;
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  boost::beast::error_code ec;
  http::write(stream, req, ec);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buf, res, ec);
  if (ec) return {};
  return {static_cast<int>(res.result_int()), res.body(), res.keep_alive()};
}

HttpResult Http(uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                const HttpHeaders& headers) {
  try {
    boost::asio::io_context io;
    auto stream = ConnectHttp(io, port);
    return SendHttp(stream, method, target, body, headers);
  } catch (const std::exception&) {
    return {};
  }
}

uint16_t FreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

}  // namespace featmon::testing
