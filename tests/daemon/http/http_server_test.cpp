#include "daemon/http/http_server.h"

#include <gtest/gtest.h>

#include "tests/common/http_client.h"

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
  beast::tcp_stream Connect() { return testing::ConnectHttp(io_, server_->port()); }
  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesManyRequestsOnOneKeepAliveConnection) {
  auto s = Connect();
  for (int i = 0; i < 20; ++i) {
    auto res = testing::SendHttp(s, "GET", "/x" + std::to_string(i));
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "GET /x" + std::to_string(i) + " 0");
    EXPECT_TRUE(res.keep_alive);
  }
}

TEST_F(HttpServerTest, RejectsOversizedBodies) {
  auto s = Connect();
  EXPECT_EQ(testing::SendHttp(s, "POST", "/b", std::string(1000, 'x')).status, 200);
  auto big = Connect();
  EXPECT_EQ(testing::SendHttp(big, "POST", "/b", std::string(5000, 'x')).status, 413);
}

TEST_F(HttpServerTest, AnswersGarbageWith400AndAThrowingHandlerWith500) {
  auto s = Connect();
  asio::write(s.socket(), asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 400u);
  auto t = Connect();
  EXPECT_EQ(testing::SendHttp(t, "GET", "/throw").status, 500);
  EXPECT_EQ(testing::SendHttp(t, "GET", "/after").status, 200);  // the server lives on
}

TEST_F(HttpServerTest, RefusesConnectionsOverTheCap) {
  std::vector<beast::tcp_stream> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(Connect());
    EXPECT_EQ(testing::SendHttp(open.back(), "GET", "/held").status, 200);
  }
  auto extra = Connect();
  EXPECT_EQ(testing::SendHttp(extra, "GET", "/over").status, 0) << "the fifth connection should have been closed";
  open.pop_back();  // freeing a slot lets a new connection in
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto again = Connect();
  EXPECT_EQ(testing::SendHttp(again, "GET", "/ok").status, 200);
}

}  // namespace
}  // namespace featmon
