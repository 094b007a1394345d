#include "daemon/http/http_server.h"

#include <gtest/gtest.h>

#include "tests/common/beast_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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

// Raw bytes in, every byte the server sends back until it closes or stays
// silent for `quiet_ms`.
std::string Exchange(uint16_t port, const std::string& request, int quiet_ms = 300) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{0, quiet_ms * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// bf86bbb sent a body after HEAD's headers, which a keep-alive client reads
// as the start of its next response.
TEST_F(HttpServerTest, HeadGetsTheHeadersOfAGetAndNoBody) {
  const std::string out = Exchange(server_->port(),
                                   "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
                                   "GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  const size_t first_end = out.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << out;
  EXPECT_NE(out.substr(0, first_end).find("Content-Length: 9"), std::string::npos) << out;  // "HEAD /x 0"
  EXPECT_EQ(out.substr(first_end + 4, 8), "HTTP/1.1") << out;
  EXPECT_EQ(out.substr(out.size() - 8), "GET /y 0") << out;
}

// RFC 9112 §6.1: a transfer coding other than chunked cannot be framed; the
// bytes after it must not run as a second request (bf86bbb ran them).
TEST_F(HttpServerTest, ATransferCodingOtherThanChunkedIsRefusedAndTheConnectionClosed) {
  const std::string out = Exchange(server_->port(),
                                   "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"
                                   "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(Count(out, "HTTP/1.1 "), 1u) << out;
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_EQ(out.find("smuggled"), std::string::npos) << out;
  // chunked, alone or last, is read as it should be.
  const std::string chunked = Exchange(server_->port(),
                                       "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                       "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
  EXPECT_EQ(chunked.substr(chunked.size() - 9), "POST /c 5") << chunked;
}

// curl sends Expect: 100-continue with bodies over 1 KiB and waits 1 s for
// the go-ahead; bf86bbb never gave it, so every such batch lookup took 1 s.
TEST_F(HttpServerTest, Expect100ContinueGetsTheGoAheadAtOnce) {
  const std::string head = "POST /b HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  const std::string out = Exchange(server_->port(), head, 200);
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  const std::string whole = Exchange(server_->port(), head + "hello");
  EXPECT_NE(whole.find("HTTP/1.1 200"), std::string::npos) << whole;
  EXPECT_NE(whole.find("POST /b 5"), std::string::npos) << whole;
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
