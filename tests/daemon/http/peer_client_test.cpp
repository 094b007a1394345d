// The pooled client featmond proxies lookups with, against a real local
// server: one connection reused across requests, a connection the server
// closed while idle replaced without failing the request, and a deadline that
// holds against a peer that accepts and never answers.
#include "daemon/http/peer_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "daemon/http/http_server.h"

namespace featmon {
namespace {

PeerRequest Get(std::string target) { return {"GET", std::move(target), "", {}}; }

std::unique_ptr<HttpServer> EchoServer(int64_t idle_timeout_ms = 30'000) {
  HttpServerOptions options;
  options.port = 0;
  options.idle_timeout_ms = idle_timeout_ms;
  auto s = HttpServer::Start(options, [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", r.method + " " + r.target + " " + r.body + (r.forwarded ? " forwarded" : "")};
  });
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

std::string Base(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

TEST(PeerClientTest, ReusesOneConnectionForSequentialRequests) {
  auto server = EchoServer();
  PeerClient peers;
  for (int i = 0; i < 50; ++i) {
    auto a = peers.Send(Base(server->port()), Get("/v1/features/user/u" + std::to_string(i)));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(a->body, "GET /v1/features/user/u" + std::to_string(i) + " ");
  }
  EXPECT_EQ(peers.connections_opened(), 1u);
  auto post = peers.Send(Base(server->port()), {"POST", "/v1/features/batch", "{\"ids\":[]}", {{"X-Featmon-Forwarded", "1"}}});
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->body, "POST /v1/features/batch {\"ids\":[]} forwarded");
}

TEST(PeerClientTest, AConnectionClosedWhileIdleIsReplacedWithoutFailingTheRequest) {
  auto server = EchoServer(/*idle_timeout_ms=*/150);
  PeerClient peers;
  ASSERT_TRUE(peers.Send(Base(server->port()), Get("/a")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the server closes the idle connection
  auto a = peers.Send(Base(server->port()), Get("/b"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->body, "GET /b ");
  EXPECT_EQ(peers.connections_opened(), 2u);
}

TEST(PeerClientTest, ThePeersDeadlineHoldsAgainstAPeerThatNeverAnswers) {
  // A listening socket nobody accepts from: the kernel completes the
  // connection, and no answer ever comes.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  PeerClient peers({.timeout_ms = 300});
  const auto start = std::chrono::steady_clock::now();
  auto a = peers.Send(Base(ntohs(addr.sin_port)), Get("/v1/features/user/u1"));
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(a.status().message().find("no answer within 300 ms"), std::string::npos) << a.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(PeerClientTest, NoListenerIsUnavailableAndSaysSo) {
  uint16_t port;
  {
    auto server = EchoServer();
    port = server->port();
  }
  PeerClient peers;
  auto a = peers.Send(Base(port), Get("/"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("cannot connect to " + Base(port)), std::string::npos) << a.status().ToString();
}

}  // namespace
}  // namespace featmon
