// Real processes for integration tests: the broker (featmon-broker) and the
// daemon (featmond) each run as their own process, found next to the test
// binary by the paths CMake passes in. HTTP goes over real sockets.
#pragma once

#include "tests/common/http_client.h"
#include "tests/common/topic_reader.h"

#include <map>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <concepts>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace featmon::testing {

class Process {
 public:
  // Starts argv[0] with its stdout and stderr to `log_path`; with
  // `pipe_stdout`, stdout goes to a pipe the test reads (ReadLine) and stdin
  // comes from one it writes (WriteLine).
  Process(std::vector<std::string> argv, const std::string& log_path, bool pipe_stdout = false) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int fds[2] = {-1, -1}, in[2] = {-1, -1};
    if (pipe_stdout) {
      EXPECT_EQ(pipe(in), 0);
      posix_spawn_file_actions_adddup2(&fa, in[0], 0);
      posix_spawn_file_actions_addclose(&fa, in[1]);
    }
    if (pipe_stdout) {
      EXPECT_EQ(pipe(fds), 0);
      posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
      posix_spawn_file_actions_addclose(&fa, fds[0]);
      posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    } else {
      posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0) << "cannot start " << argv[0];
    if (pipe_stdout) {
      close(fds[1]);
      out_ = fdopen(fds[0], "r");
      close(in[0]);
      in_ = fdopen(in[1], "w");
    }
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
    if (in_) fclose(in_);
  }
  void WriteLine(const std::string& line) {
    if (!in_) return;
    std::fputs((line + "\n").c_str(), in_);
    std::fflush(in_);
  }
  std::string ReadLine() {
    char buf[512];
    if (!out_ || !fgets(buf, sizeof(buf), out_)) return "";
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Closes the test's end of the stdout pipe: the process's next write meets EPIPE.
  void CloseStdout() {
    if (out_) fclose(out_);
    out_ = nullptr;
  }
  // Waits for exit; returns the exit code, or -1 on timeout, or 128+signal.
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void KillHard() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    exited_ = true;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  FILE* out_ = nullptr;
  FILE* in_ = nullptr;
};

// The featmond under test; FEATMON_TEST_FEATMOND points the tests at another
// build (to show that a test fails on an older one).
inline std::string FeatmondBin() {
  const char* other = std::getenv("FEATMON_TEST_FEATMOND");
  return other && *other ? other : FEATMOND_BIN;
}

// Polls until pred() or the timeout; returns pred()'s last value.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout, std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The value of one series in a Prometheus text exposition, e.g.
// `featmon_commits_stalled{reason="disk_full"}`; NaN when absent.
inline double MetricValue(const std::string& exposition, const std::string& series) {
  for (size_t at = exposition.find(series); at != std::string::npos; at = exposition.find(series, at + 1)) {
    if ((at == 0 || exposition[at - 1] == '\n') && exposition.size() > at + series.size() && exposition[at + series.size()] == ' ')
      return std::strtod(exposition.c_str() + at + series.size() + 1, nullptr);
  }
  return std::nan("");
}

// Sum of featmond's featmon_consumer_lag_messages over every series (views,
// clicks, predictions; against the high watermarks of its last fetches); NaN
// when it does not answer.
inline double TotalConsumerLag(uint16_t port) {
  auto res = Http(port, "GET", "/metrics");
  if (res.status != 200) return std::nan("");
  double lag = 0;
  std::istringstream lines(res.body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("featmon_consumer_lag_messages{", 0) == 0) lag += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  return lag;
}

// Each of a topic's `partitions` as the broker sees it now: the first offset
// it still holds (the mock broker keeps about the newest 5 MiB of each) and
// the next offset it will write; -1 when unknown. Asked of the broker, not
// of featmond, whose high watermarks date from its last fetch.
struct PartitionOffsets {
  int64_t low = -1;
  int64_t high = -1;
};
inline std::vector<PartitionOffsets> BrokerWatermarks(const std::string& bootstrap, const std::string& topic,
                                                      int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  std::vector<PartitionOffsets> out(partitions);
  for (int p = 0; p < partitions; ++p) {
    PartitionOffsets& o = out[p];
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &o.low, &o.high, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      o = PartitionOffsets{};
  }
  rd_kafka_destroy(rk);
  return out;
}

// A broker process; its bootstrap address is the first line it prints.
class BrokerProcess {
 public:
  BrokerProcess(const std::string& log_dir, int partitions, int brokers = 1)
      : log_(log_dir + "/broker.log"),
        proc_({FEATMON_BROKER_BIN, "--partitions", std::to_string(partitions), "--brokers", std::to_string(brokers)},
              log_, true) {
    bootstrap_ = proc_.ReadLine();
    EXPECT_FALSE(bootstrap_.empty()) << "broker printed no address";
  }
  // A broker that died under the test explains every failure after it, and
  // its log (in the test's temporary directory) goes with the directory.
  ~BrokerProcess() {
    const int status = proc_.Wait(std::chrono::milliseconds(1));
    if (status < 0) return;  // still running: the Process kills it
    std::string log = ReadFile(log_);
    if (log.size() > 8192) log = "...\n" + log.substr(log.size() - 8192);
    ADD_FAILURE() << "featmon-broker exited by itself (status " << status << ") while the test ran; its log ends:\n"
                   << log;
  }
  const std::string& bootstrap() const { return bootstrap_; }
  Process& proc() { return proc_; }
  // A fault-injection command (EmbeddedBroker::Control); true when the broker says "ok".
  bool Control(const std::string& command) {
    proc_.WriteLine(command);
    const std::string reply = proc_.ReadLine();
    EXPECT_EQ(reply, "ok") << command;
    return reply == "ok";
  }

 private:
  std::string log_;
  Process proc_;
  std::string bootstrap_;
};

// A featmond process with a config file written by the test.
class DaemonProcess {
 public:
  static constexpr const char* kKafkaYaml =
      "kafka:\n  group_id: featmond-test\n  properties:\n    session.timeout.ms: \"6000\"\n    heartbeat.interval.ms: \"500\"\n";

  // The data directory is dir/data unless `data_dir` names another.
  DaemonProcess(const std::string& dir, const std::string& bootstrap, uint16_t port, const std::string& extra_yaml = "",
                const std::vector<std::string>& extra_args = {}, const std::string& data_dir = "") {
    config_ = dir + "/featmond.yaml";
    // extra_yaml may bring its own kafka or ingest block, replacing this
    // one (a key twice in one mapping is not an override).
    auto has_block = [&](const std::string& key) {
      return extra_yaml.rfind(key, 0) == 0 || extra_yaml.find("\n" + key) != std::string::npos;
    };
    std::ofstream(config_) << (has_block("kafka:") ? "" : kKafkaYaml)
                           << (has_block("ingest:") ? "" : "ingest:\n  commit_interval: 50ms\n") << extra_yaml;
    args_ = {FeatmondBin(), "--config", config_, "--data-dir", data_dir.empty() ? dir + "/data" : data_dir, "--kafka-brokers", bootstrap,
             "--http-listen", "127.0.0.1:" + std::to_string(port)};
    args_.insert(args_.end(), extra_args.begin(), extra_args.end());
    log_ = dir + "/featmond.log";
    port_ = port;
    Start();
  }
  void Start(bool pipe_stdout = false) { proc_ = std::make_unique<Process>(args_, log_, pipe_stdout); }
  Process& proc() { return *proc_; }
  uint16_t port() const { return port_; }
  const std::string& log() const { return log_; }
  // Ready: featmond serves its committed state (a restarted one does before
  // the consumer group has given it partitions again).
  bool WaitReady(std::chrono::milliseconds timeout) {
    return WaitFor([&] { return Http(port_, "GET", "/readyz").status == 200; }, timeout);
  }
  // Consuming: the group has assigned featmond partitions.
  bool WaitAssigned(std::chrono::milliseconds timeout) {
    return WaitFor([&] {
      auto status = Http(port_, "GET", "/v1/status").json();
      return !status.is_discarded() && status.contains("assigned_partitions") && !status["assigned_partitions"].empty();
    }, timeout);
  }
  // True once every assigned partition has committed up to its high watermark
  // and `expected` messages were consumed in total since the last start.
  bool CaughtUp(int64_t expected_offsets_total) { return CommittedTotal() == expected_offsets_total; }
  // Waits for CaughtUp(expected), however long a backlog takes to read, but
  // gives up once the committed total has not grown for `stalled_for`.
  bool WaitCaughtUp(int64_t expected_offsets_total, std::chrono::seconds stalled_for) {
    return WaitCaughtUp([expected_offsets_total] { return expected_offsets_total; }, stalled_for);
  }
  // The same, with the total asked again each time: an input featmond itself
  // writes (the item repartition topic) grows until the others are read.
  template <std::invocable Expected>
  bool WaitCaughtUp(Expected expected_offsets_total, std::chrono::seconds stalled_for) {
    int64_t last = -1;
    auto progress_at = std::chrono::steady_clock::now();
    for (;;) {
      const int64_t committed = CommittedTotal();
      if (committed == expected_offsets_total()) return true;
      const auto now = std::chrono::steady_clock::now();
      if (committed != last) {
        last = committed;
        progress_at = now;
      } else if (now - progress_at > stalled_for) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // Offsets committed over every assigned partition; -1 while unknown.
  int64_t CommittedTotal() {
    auto s = Http(port_, "GET", "/v1/status").json();
    if (s.is_discarded() || !s.contains("assigned_partitions") || s["assigned_partitions"].empty()) return -1;
    int64_t committed = 0;
    for (const auto& p : s["assigned_partitions"]) committed += std::max<int64_t>(0, p["committed_offset"].get<int64_t>());
    return committed;
  }

 private:
  std::vector<std::string> args_;
  std::string config_, log_;
  uint16_t port_;
  std::unique_ptr<Process> proc_;
};

}  // namespace featmon::testing
