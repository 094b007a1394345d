// A blocking HTTP/1.1 client for tests: one request on a kept-alive stream,
// or one request on a new connection.
#pragma once

#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace featmon::testing {

struct HttpResult {
  int status = 0;  // 0: no connection or no answer
  std::string body;
  bool keep_alive = false;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

inline boost::beast::tcp_stream ConnectHttp(boost::asio::io_context& io, uint16_t port) {
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  return stream;
}

// One request on an open stream; status 0 when the server closed it instead of answering.
inline HttpResult SendHttp(boost::beast::tcp_stream& stream, const std::string& method, const std::string& target,
                           const std::string& body = "") {
  namespace http = boost::beast::http;
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
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

// One request on a new connection.
inline HttpResult Http(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "") {
  try {
    boost::asio::io_context io;
    auto stream = ConnectHttp(io, port);
    return SendHttp(stream, method, target, body);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace featmon::testing
