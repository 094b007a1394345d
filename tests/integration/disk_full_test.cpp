// Disk trouble at the process level: featmond's data directory sits on a small
// tmpfs this test mounts, and the test fills it while events keep arriving.
// featmond must hold its offsets, turn /readyz false, say why in its log and
// its metrics, and carry on by itself once space returns, with every event
// counted once. Mounting needs root (CI runs as root); elsewhere it skips.
//
// The disk fills to below store.min_free_space, not to the last byte:
// featmond pauses before RocksDB meets ENOSPC, because RocksDB 7.8 cannot
// recover from a failed WAL append (see RocksDbStoreOptions::min_free_bytes).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstring>
#include <filesystem>

#include "tests/daemon/temp_dir.h"
#include "tests/integration/load.h"
#include "tests/integration/oracle_check.h"

namespace featmon::testing {
namespace {

int64_t CommittedOffsets(uint16_t port) {
  int64_t committed = 0;
  auto s = Http(port, "GET", "/v1/status").json();
  if (s.is_discarded()) return -1;
  for (const auto& p : s["assigned_partitions"]) committed += std::max<int64_t>(0, p["committed_offset"].get<int64_t>());
  return committed;
}

uint64_t FreeBytes(const std::string& path) {
  struct statvfs fs {};
  return statvfs(path.c_str(), &fs) == 0 ? static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize : 0;
}

// Writes into `path` until its filesystem has less than `leave` bytes free;
// returns the bytes written.
int64_t FillUp(const std::string& path, uint64_t leave) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  std::string chunk(1 << 20, 'x');
  int64_t total = 0;
  while (FreeBytes(path) >= leave) {
    ssize_t n = write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += n;
  }
  close(fd);
  return total;
}

class SmallDisk {
 public:
  explicit SmallDisk(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0, "size=256m") == 0;
    error_ = mounted_ ? "" : std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
  bool mounted_ = false;
};

TEST(DiskFullTest, HoldsOffsetsTurnsUnreadyAndResumesWhenSpaceReturns) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir dir;
  SmallDisk disk(dir.sub("disk"));
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << disk.error();
  const std::string data = dir.sub("disk") + "/data";

  BrokerProcess broker(dir.path(), 4);
  const uint16_t port = FreePort();
  // Small memtables, so flushes run while the disk fills. featmond stops
  // committing below 64 MiB free; the test leaves 32 MiB.
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port, "store:\n  memtable_memory: 1MB\n  min_free_space: 64MB\n", {},
                       data);
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << ReadFile(daemon.log());

  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle, {.events = 60'000, .per_second = 3'000, .seed = 7});
  std::this_thread::sleep_for(std::chrono::seconds(4));

  const std::string filler = dir.sub("disk") + "/filler";
  const int64_t filled = FillUp(filler, 32u << 20);
  std::printf("filled the data filesystem with %lld MiB\n", static_cast<long long>(filled >> 20));
  ASSERT_GT(filled, 0);

  // Unready, with the reason, in the log and the metrics.
  std::string readyz;
  ASSERT_TRUE(WaitFor([&] {
    auto r = Http(port, "GET", "/readyz");
    readyz = r.body;
    return r.status == 503 && r.body.find("No space left") != std::string::npos;
  }, std::chrono::seconds(30))) << readyz << "\n" << ReadFile(daemon.log());
  std::printf("/readyz while full: %s\n", readyz.c_str());
  EXPECT_GE(MetricValue(Http(port, "GET", "/metrics").body, "featmon_commits_stalled{reason=\"disk_full\"}"), 1);
  EXPECT_NE(ReadFile(daemon.log()).find("state commits failing (disk_full)"), std::string::npos);

  // Offsets stay put while the broker keeps receiving.
  const int64_t held = CommittedOffsets(port);
  const int64_t sent_before = load.sent();
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(CommittedOffsets(port), held) << "offsets moved while nothing could be written";
  EXPECT_GT(load.sent(), sent_before + 5'000) << "the producer stopped, so this shows nothing";
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200) << "a full disk is not a reason to be restarted";

  // Space returns: featmond carries on by itself, without a restart.
  std::filesystem::remove(filler);
  const auto freed = std::chrono::steady_clock::now();
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(30))) << Http(port, "GET", "/readyz").body;
  std::printf("ready again %.1f s after space returned\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - freed).count());
  EXPECT_EQ(MetricValue(Http(port, "GET", "/metrics").body, "featmon_commits_stalled{reason=\"disk_full\"}"), 0);
  EXPECT_NE(ReadFile(daemon.log()).find("state commits succeed again"), std::string::npos);

  ASSERT_TRUE(load.Join());
  ASSERT_TRUE(WaitFor([&] { return daemon.CaughtUp(load.sent()); }, std::chrono::seconds(60)))
      << Http(port, "GET", "/v1/status").body;
  EXPECT_EQ(daemon.proc().Wait(std::chrono::milliseconds(0)), -1) << "featmond exited";
  auto [compared, diffs] = CompareWithOracle(port, oracle, load.newest_ts_ms() + 1);
  std::printf("compared %zu entities after the disk filled and emptied: %zu differences\n", compared, diffs.size());
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  daemon.proc().Signal(SIGTERM);
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 0) << ReadFile(daemon.log());
}

}  // namespace
}  // namespace featmon::testing
