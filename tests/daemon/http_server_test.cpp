#include "daemon/http/http_server.h"

#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace featmon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = 1024;
    options.max_connections = 4;
    auto server = HttpServer::Start(options, [](const HttpRequest& r) -> HttpResponse {
      if (r.target == "/throw") throw std::runtime_error("boom");
      return {200, "text/plain", r.method + " " + r.target + " " + std::to_string(r.body.size())};
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  beast::tcp_stream Connect() {
    beast::tcp_stream stream(io_);
    stream.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    stream.expires_after(std::chrono::seconds(5));
    return stream;
  }
  http::response<http::string_body> Send(beast::tcp_stream& s, http::verb verb, const std::string& target,
                                         const std::string& body = "") {
    http::request<http::string_body> req(verb, target, 11);
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
  }
  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesManyRequestsOnOneKeepAliveConnection) {
  auto s = Connect();
  for (int i = 0; i < 20; ++i) {
    auto res = Send(s, http::verb::get, "/x" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), "GET /x" + std::to_string(i) + " 0");
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(HttpServerTest, RejectsOversizedBodies) {
  auto s = Connect();
  EXPECT_EQ(Send(s, http::verb::post, "/b", std::string(1000, 'x')).result_int(), 200u);
  auto big = Connect();
  EXPECT_EQ(Send(big, http::verb::post, "/b", std::string(5000, 'x')).result_int(), 413u);
}

TEST_F(HttpServerTest, AnswersGarbageWith400AndAThrowingHandlerWith500) {
  auto s = Connect();
  asio::write(s.socket(), asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 400u);
  auto t = Connect();
  EXPECT_EQ(Send(t, http::verb::get, "/throw").result_int(), 500u);
  EXPECT_EQ(Send(t, http::verb::get, "/after").result_int(), 200u);  // the server lives on
}

TEST_F(HttpServerTest, RefusesConnectionsOverTheCap) {
  std::vector<beast::tcp_stream> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(Connect());
    EXPECT_EQ(Send(open.back(), http::verb::get, "/held").result_int(), 200u);
  }
  auto extra = Connect();
  http::request<http::string_body> req(http::verb::get, "/over", 11);
  beast::error_code ec;
  http::write(extra, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  if (!ec) http::read(extra, buf, res, ec);
  EXPECT_TRUE(ec) << "the fifth connection should have been closed";
  open.pop_back();  // freeing a slot lets a new connection in
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto again = Connect();
  EXPECT_EQ(Send(again, http::verb::get, "/ok").result_int(), 200u);
}

}  // namespace
}  // namespace featmon
