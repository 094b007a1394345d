// featmond under a service manager, without one: the test plays systemd's
// part of the sd_notify protocol (a datagram socket named by NOTIFY_SOCKET,
// a timeout in WATCHDOG_USEC) and checks what a Type=notify unit relies on:
// READY=1 only once the store is open and serving, keep-alives at the
// watchdog's pace, STOPPING=1 on SIGTERM. It also reads the JSON log.
#include <sys/socket.h>
#include <sys/un.h>

#include <filesystem>

#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"

namespace featmon::testing {
namespace {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  }
  ~NotifySocket() { close(fd_); }
  // The next datagram, or "" after the timeout.
  std::string Receive(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string Tail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

// A broker and a featmond that reports to `notify`, as under systemd.
class NotifiedDaemon {
 public:
  NotifiedDaemon(const TempDir& dir, const NotifySocket& notify, int partitions,
                 const std::vector<std::string>& extra_args = {})
      : broker_(dir.path(), partitions) {
    setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);  // inherited by the daemon only
    daemon_ = std::make_unique<DaemonProcess>(dir.path(), broker_.bootstrap(), FreePort(), "", extra_args);
    unsetenv("NOTIFY_SOCKET");
  }
  DaemonProcess& daemon() { return *daemon_; }

 private:
  BrokerProcess broker_;
  std::unique_ptr<DaemonProcess> daemon_;
};

bool Has(const std::string& datagram, const std::string& assignment) {
  return ("\n" + datagram + "\n").find("\n" + assignment + "\n") != std::string::npos;
}

TEST(ServiceNotifyTest, ReadyAfterTheStoreOpensKeepAlivesAtTheWatchdogPaceStoppingOnSigterm) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 2);
  NotifySocket notify(dir.path() + "/notify.sock");
  const uint16_t port = FreePort();
  // The daemon inherits these; systemd sets the same two for a unit with WatchdogSec=1.
  setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "1000000", 1);
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port, "", {"--log-format", "json"});
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");

  const std::string first = notify.Receive(std::chrono::seconds(30));
  ASSERT_TRUE(Has(first, "READY=1")) << "first notification: '" << first << "'; see " << daemon.log();
  EXPECT_NE(first.find("STATUS=consuming from " + broker.bootstrap()), std::string::npos) << first;
  // READY came after the store opened and the HTTP server started.
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/data/CURRENT"));
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);

  // Four ticks per timeout: 1 s of watching sees about four keep-alives, 3 s about twelve.
  int keepalives = 0;
  const auto watch_until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < watch_until) {
    const std::string d = notify.Receive(std::chrono::milliseconds(600));
    ASSERT_FALSE(d.empty()) << "no keep-alive within 600 ms of a 1 s watchdog";
    if (Has(d, "WATCHDOG=1")) ++keepalives;
  }
  EXPECT_GE(keepalives, 8);
  EXPECT_LE(keepalives, 16);

  daemon.proc().Signal(SIGTERM);
  std::string stopping;
  for (int i = 0; i < 20 && !Has(stopping, "STOPPING=1"); ++i) stopping = notify.Receive(std::chrono::seconds(1));
  EXPECT_TRUE(Has(stopping, "STOPPING=1")) << stopping;
  ASSERT_EQ(daemon.proc().Wait(std::chrono::seconds(30)), 0) << Tail(daemon.log());

  // --log-format json: one object per line with time, level, component, message.
  std::ifstream log(daemon.log());
  std::string line;
  int lines = 0;
  std::set<std::string> components;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    for (const char* key : {"time", "level", "component", "message"}) ASSERT_TRUE(j.contains(key)) << key << " in " << line;
    EXPECT_EQ(j["time"].get<std::string>().size(), 24u) << j["time"];  // 2026-11-21T10:00:00.123Z
    components.insert(j["component"].get<std::string>());
    ++lines;
  }
  EXPECT_GE(lines, 3);
  EXPECT_TRUE(components.count("app") && components.count("ingest")) << lines << " lines";
}

TEST(ServiceNotifyTest, NoWatchdogNoKeepAlives) {
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify.sock");
  NotifiedDaemon run(dir, notify, 1);
  DaemonProcess& daemon = run.daemon();
  ASSERT_TRUE(Has(notify.Receive(std::chrono::seconds(30)), "READY=1"));
  EXPECT_EQ(notify.Receive(std::chrono::milliseconds(1500)), "");
  daemon.proc().Signal(SIGTERM);
  EXPECT_TRUE(Has(notify.Receive(std::chrono::seconds(10)), "STOPPING=1"));
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(30)), 0);
}

// librdkafka 2.0 can hang in rd_kafka_assign() if an assignment reaches the
// rebalance callback inside rd_kafka_consumer_close() (librdkafka#4884): a
// SIGTERM while the first group join is in flight (the mock broker answers
// it about 3 s after subscribing) used to leave featmond stuck. featmond now
// declines such an assignment without calling rd_kafka_assign(); it must
// exit promptly at any moment around the join. The eleven stops are 25 ms
// apart over the window in which they land inside the close (2.82 to 3.0 s
// after READY here, under ASan and not). The old empty assign hung one run
// of this test in three under ASan: the test can catch a regression, not
// always; RELIABILITY.md has the figures of a longer loop.
TEST(ServiceNotifyTest, SigtermWhileTheGroupJoinIsInFlightStillExits) {
  int caught_in_the_window = 0;
  std::string landed;
  for (int delay_ms = 2800; delay_ms <= 3050; delay_ms += 25) {
    TempDir dir;
    NotifySocket notify(dir.path() + "/notify.sock");
    // JSON logging makes the callback slower, which widened the race (it is
    // how CI first hung there).
    NotifiedDaemon run(dir, notify, 2, {"--log-format", "json"});
    DaemonProcess& daemon = run.daemon();
    ASSERT_TRUE(Has(notify.Receive(std::chrono::seconds(30)), "READY=1"));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    daemon.proc().Signal(SIGTERM);
    ASSERT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 0)
        << "SIGTERM " << delay_ms << " ms after READY\n" << Tail(daemon.log());
    // Whether this run hit the window (a join completing inside the close).
    if (Tail(daemon.log()).find("assigned while closing") != std::string::npos) {
      ++caught_in_the_window;
      landed += " " + std::to_string(delay_ms);
    }
  }
  std::printf("%d of 11 stops landed while a join completed inside the close (ms after READY:%s)\n",
              caught_in_the_window, landed.c_str());
}

}  // namespace
}  // namespace featmon::testing
