// The HTTP surface under abuse, against a real featmond process: 10,000
// concurrent connections (half of them slowloris clients trickling a request
// they never finish) neither crash it nor starve /healthz, and the slow ones
// are cut at http.idle_timeout. The bearer token guards /v1/status and
// /v1/monitoring, and neither it nor a Kafka secret ever reaches the log, the
// status or the metrics.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <fstream>

#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"

namespace featmon::testing {
namespace {

constexpr char kToken[] = "k9Jq2vX8mT4wZ7pL0sR5";
constexpr char kKafkaSecret[] = "hunter2-kafka-password";

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once the server closed the connection (recv returns 0 or an error).
bool ClosedByServer(int fd, int timeout_ms) {
  timeval tv{timeout_ms / 1000, timeout_ms % 1000 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class HttpSurfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/token") << kToken << "\n";
    broker_ = std::make_unique<BrokerProcess>(dir_.path(), 2);
    port_ = FreePort();
    daemon_ = std::make_unique<DaemonProcess>(
        dir_.path(), broker_->bootstrap(), port_,
        "http:\n  idle_timeout: 2s\n  bearer_token_file: " + dir_.path() + "/token\n"
        "kafka:\n  properties:\n    security.protocol: plaintext\n    sasl.username: featmond\n"
        "    sasl.password: " + kKafkaSecret + "\n");
    ASSERT_TRUE(daemon_->WaitReady(std::chrono::seconds(40))) << ReadAll(daemon_->log());
  }
  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<DaemonProcess> daemon_;
  uint16_t port_ = 0;
};

TEST_F(HttpSurfaceTest, TenThousandConnectionsHalfOfThemSlowlorisNeitherCrashNorStarveHealthz) {
  constexpr int kConnections = 10'000;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  ASSERT_GE(lim.rlim_cur, static_cast<rlim_t>(kConnections + 500)) << "the test needs more file descriptors";

  std::vector<int> idle, slow;
  for (int i = 0; i < kConnections; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    if (i % 2) {
      // The start of a request, never finished.
      const char* partial = "GET /v1/features/user/u1 HTTP/1.1\r\nHost: x\r\nX-Slow: ";
      ASSERT_GT(send(fd, partial, std::strlen(partial), MSG_NOSIGNAL), 0);
      slow.push_back(fd);
    } else {
      idle.push_back(fd);
    }
  }
  // With 10,000 connections open, a probe still gets through, and quickly.
  const auto start = std::chrono::steady_clock::now();
  auto health = Http(port_, "GET", "/healthz");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(health.status, 200);
  EXPECT_LT(took.count(), 1000);
  EXPECT_EQ(Http(port_, "GET", "/v1/features/user/u1").status, 200);
  std::printf("/healthz with %d connections open: %lld ms\n", kConnections, static_cast<long long>(took.count()));

  // A slowloris client keeps trickling bytes; it is still cut at idle_timeout (2 s),
  // because the timeout covers the whole request, not each byte.
  for (int tick = 0; tick < 5; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (size_t i = 0; i < 50; ++i) (void)send(slow[i], "a", 1, MSG_NOSIGNAL);
  }
  int cut = 0;
  for (size_t i = 0; i < 50; ++i) cut += ClosedByServer(slow[i], 2000);
  EXPECT_EQ(cut, 50) << "slow clients still connected after the idle timeout";
  int idle_cut = 0;
  for (size_t i = 0; i < 50; ++i) idle_cut += ClosedByServer(idle[i], 2000);
  EXPECT_EQ(idle_cut, 50);
  for (int fd : idle) close(fd);
  for (int fd : slow) close(fd);

  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(waitpid(daemon_->proc().pid(), nullptr, WNOHANG), 0) << "featmond exited";
}

TEST_F(HttpSurfaceTest, BearerTokenGuardsStatusAndMonitoringAndNoSecretIsEverShown) {
  const std::string status_route = "/v1/status", monitoring_route = "/v1/monitoring/models";
  for (const auto& route : {status_route, monitoring_route}) {
    EXPECT_EQ(Http(port_, "GET", route).status, 401) << route;
  }
  // Wrong tokens, a prefix of the right one, the right one without "Bearer ".
  auto with_auth = [&](const std::string& target, const std::string& authorization) {
    auto res = Http(port_, "GET", target, "", {{"Authorization", authorization}});
    return std::pair{static_cast<unsigned>(res.status), res.body};
  };
  const std::string token = kToken;
  for (const std::string& bad : std::vector<std::string>{"Bearer wrong-token-wrong-token", "Bearer " + token.substr(0, 10),
                                                         token, "Basic " + token, "Bearer " + token + "x"}) {
    EXPECT_EQ(with_auth(status_route, bad).first, 401u) << bad;
  }
  auto [code, status_body] = with_auth(status_route, std::string("Bearer ") + kToken);
  EXPECT_EQ(code, 200u);
  EXPECT_EQ(with_auth(monitoring_route, std::string("Bearer ") + kToken).first, 200u);
  // Serving and probing stay open.
  for (const char* open : {"/healthz", "/readyz", "/metrics", "/v1/features/user/u1"})
    EXPECT_EQ(Http(port_, "GET", open).status, 200) << open;

  const std::string metrics = Http(port_, "GET", "/metrics").body;
  daemon_->proc().Signal(SIGTERM);
  ASSERT_EQ(daemon_->proc().Wait(std::chrono::seconds(20)), 0);
  const std::string log = ReadAll(daemon_->log());
  for (const std::string& secret : std::vector<std::string>{kToken, kKafkaSecret}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "in the log";
    EXPECT_EQ(status_body.find(secret), std::string::npos) << "in /v1/status";
    EXPECT_EQ(metrics.find(secret), std::string::npos) << "in /metrics";
  }
}

}  // namespace
}  // namespace featmon::testing
