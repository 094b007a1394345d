// The webhook notifier against a real local HTTP server: delivery, retries
// with backoff after failures, giving up on a receiver that never answers,
// and Enqueue never waiting for any of it.
#include "daemon/http/webhook_notifier.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "daemon/http/http_server.h"

namespace featmon {
namespace {

struct Receiver {
  explicit Receiver(int failures_first) : failures(failures_first) {
    HttpServerOptions options;
    options.port = 0;
    auto s = HttpServer::Start(options, [this](const HttpRequest& r) -> HttpResponse {
      std::lock_guard lock(mu);
      if (failures-- > 0) return {500, "text/plain", "try later"};
      bodies.push_back(r.method + " " + r.target + " " + r.body);
      return {204, "text/plain", ""};
    });
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/hooks/retrain"; }
  std::mutex mu;
  int failures;
  std::vector<std::string> bodies;
  std::unique_ptr<HttpServer> server;
};

TEST(WebhookNotifierTest, DeliversEveryDocumentInOrder) {
  Receiver r(0);
  WebhookOptions options;
  options.urls = {r.url()};
  options.first_backoff_ms = 10;
  auto n = WebhookNotifier::Start(options);
  ASSERT_TRUE(n.ok());
  for (int i = 0; i < 5; ++i) (*n)->Enqueue("{\"n\":" + std::to_string(i) + "}");
  ASSERT_TRUE((*n)->WaitIdle(10'000));
  EXPECT_EQ((*n)->delivered(), 5u);
  std::lock_guard lock(r.mu);
  ASSERT_EQ(r.bodies.size(), 5u);
  EXPECT_EQ(r.bodies[0], "POST /hooks/retrain {\"n\":0}");
  EXPECT_EQ(r.bodies[4], "POST /hooks/retrain {\"n\":4}");
}

TEST(WebhookNotifierTest, RetriesWithBackoffUntilTheReceiverAccepts) {
  Receiver r(3);  // three 500s first
  WebhookOptions options;
  options.urls = {r.url()};
  options.attempts = 6;
  options.first_backoff_ms = 20;
  auto n = WebhookNotifier::Start(options);
  ASSERT_TRUE(n.ok());
  auto start = std::chrono::steady_clock::now();
  (*n)->Enqueue("{}");
  ASSERT_TRUE((*n)->WaitIdle(10'000));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ((*n)->delivered(), 1u);
  EXPECT_EQ((*n)->given_up(), 0u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(20 + 40 + 80));  // backoff doubled between attempts
}

TEST(WebhookNotifierTest, GivesUpOnADeadReceiverWithoutBlockingTheCaller) {
  std::atomic<int> gave_up{0};
  // Nothing listens on port 9 (discard) here: connections are refused.
  WebhookOptions options;
  options.urls = {"http://127.0.0.1:9/x"};
  options.attempts = 3;
  options.timeout_ms = 500;
  options.first_backoff_ms = 10;
  options.on_give_up = [&] { gave_up++; };
  auto n = WebhookNotifier::Start(options);
  ASSERT_TRUE(n.ok());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) (*n)->Enqueue("{}");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  ASSERT_TRUE((*n)->WaitIdle(20'000));
  EXPECT_EQ((*n)->given_up(), 3u);
  EXPECT_EQ(gave_up.load(), 3);
}

TEST(WebhookNotifierTest, ParsesUrls) {
  auto u = ParseHttpUrl("http://example.org:8081/a/b?c=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, "8081");
  EXPECT_EQ(u->target, "/a/b?c=1");
  u = ParseHttpUrl("http://[::1]/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "80");
  EXPECT_FALSE(ParseHttpUrl("https://x/").ok());
  WebhookOptions bad;
  bad.urls = {"ftp://x"};
  EXPECT_FALSE(WebhookNotifier::Start(bad).ok());
}

}  // namespace
}  // namespace featmon
