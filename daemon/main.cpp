// featmond: flags in, App out. Everything else lives in the libraries; this
// file also speaks to the service manager (readiness, watchdog, stopping).
#include <CLI/CLI.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <thread>

#include "daemon/app/app.h"
#include "daemon/logging/log.h"
#include "daemon/systemd/service_notify.h"

namespace {

using featmon::Component;
using featmon::Log;

// Waits for SIGINT, SIGTERM or SIGHUP. With a systemd watchdog, wakes four times per
// timeout and sends WATCHDOG=1 only while every loop of the daemon still comes
// round (silent for less than half the timeout): a wedged consumer stops the
// keep-alives and systemd restarts the service.
int WaitForStopSignal(const sigset_t& signals, featmon::App& app) {
  const int64_t watchdog_us = featmon::WatchdogTimeoutUs();
  if (watchdog_us <= 0) {
    int sig = 0;
    sigwait(&signals, &sig);
    return sig;
  }
  const int64_t tick_us = watchdog_us / 4;
  const timespec tick{static_cast<time_t>(tick_us / 1'000'000), static_cast<long>(tick_us % 1'000'000 * 1000)};
  Log(Component::kApp).info("systemd watchdog every {} ms", watchdog_us / 1000);
  bool reported_stall = false;
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) return sig;
    const std::vector<std::string> stalled = app.StalledLoops(watchdog_us * 1000 / 2);
    if (stalled.empty()) {
      featmon::NotifyWatchdog();
      reported_stall = false;
      continue;
    }
    if (!reported_stall) {
      std::string names;
      for (const auto& n : stalled) names += (names.empty() ? "" : ", ") + n;
      Log(Component::kApp).critical("wedged: {} silent for over {} ms; withholding the watchdog keep-alive", names,
                                    watchdog_us / 2000);
      featmon::NotifyStatus("wedged: " + names);
      reported_stall = true;
    }
  }
}

// HTTP connections, RocksDB files and Kafka sockets are all descriptors:
// take every one the hard limit allows, and keep the connection cap below it.
void FitDescriptorLimit(featmon::Config* config) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
    (void)getrlimit(RLIMIT_NOFILE, &lim);
  }
  constexpr rlim_t kReserved = 1024;  // RocksDB, librdkafka, the rest of the process
  const rlim_t usable = lim.rlim_cur > 2 * kReserved ? lim.rlim_cur - kReserved : lim.rlim_cur / 2;
  size_t& max_connections = config->http.server.max_connections;
  if (lim.rlim_cur != RLIM_INFINITY && static_cast<rlim_t>(max_connections) > usable) {
    Log(Component::kApp).warn("http.max_connections {} lowered to {}: the descriptor limit is {}", max_connections,
                              usable, lim.rlim_cur);
    max_connections = static_cast<size_t>(usable);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout (featmond | head -1) or a peer gone from a socket gives
  // EPIPE on that write, not a process killed by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App cli{"featmond: real-time user and item features from Kafka, served over HTTP"};
  std::string config_path, data_dir, http_listen, advertised_url, brokers, group_id, group_instance_id, log_level = "info",
      log_format = "text";
  bool embedded = false, print_default_config = false;
  cli.add_option("--config", config_path, "YAML config file (default: the embedded default config)");
  cli.add_option("--data-dir", data_dir, "RocksDB data directory (store.data_dir)");
  cli.add_option("--http-listen", http_listen, "HOST:PORT for HTTP (http.listen)");
  cli.add_option("--advertised-url", advertised_url,
                 "http://host:port the group's other instances reach this one at (http.advertised_url), e.g. "
                 "http://$(POD_NAME).featmond-headless:8080");
  cli.add_option("--kafka-brokers", brokers, "Kafka bootstrap servers (kafka.brokers)");
  cli.add_option("--kafka-group-id", group_id,
                 "consumer group (kafka.group_id); monitoring uses <group>.monitor. Replicas that each keep "
                 "every partition need one each, e.g. featmond-$(POD_NAME)");
  cli.add_option("--kafka-group-instance-id", group_instance_id,
                 "static group membership (kafka.group_instance_id), e.g. $(POD_NAME) in a StatefulSet");
  cli.add_flag("--embedded-kafka", embedded, "start an in-process Kafka-protocol broker and consume from it");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")->capture_default_str();
  cli.add_option("--log-format", log_format,
                 "text, or json: one object per line with time, level, component and message")
      ->capture_default_str();
  cli.add_flag("--print-default-config", print_default_config,
               "print the default configuration, every key with its meaning and default, and exit");
  cli.set_version_flag("--version", std::string("featmond ") + featmon::FeatmonVersion());
  CLI11_PARSE(cli, argc, argv);

  if (print_default_config) {
    std::cout << featmon::DefaultConfigYaml();
    return 0;
  }
  auto level = featmon::ParseLogLevel(log_level);
  auto format = featmon::ParseLogFormat(log_format);
  if (!level.ok() || !format.ok()) {
    std::cerr << "featmond: " << (level.ok() ? "--log-format: " + format.status().message()
                                             : "--log-level: " + level.status().message()) << "\n";
    return 2;
  }
  featmon::ConfigureLogging(*format, *level);

  auto config = config_path.empty() ? featmon::LoadDefaultConfig() : featmon::LoadConfigFile(config_path);
  if (!config.ok()) {
    Log(Component::kApp).critical("config error: {}", config.status().message());
    return 2;
  }
  if (!data_dir.empty()) config->store.path = data_dir;
  if (!brokers.empty()) config->kafka.brokers = brokers;
  if (!group_id.empty()) config->kafka.group_id = group_id;
  if (!group_instance_id.empty()) config->kafka.group_instance_id = group_instance_id;
  if (!http_listen.empty()) {
    featmon::Status st = featmon::SetHttpListen(http_listen, &config->http.server);
    if (!st.ok()) {
      Log(Component::kApp).critical("--http-listen: {}", st.message());
      return 2;
    }
  }
  if (!advertised_url.empty()) {
    featmon::Status st = featmon::SetAdvertisedUrl(advertised_url, &config->http);
    if (!st.ok()) {
      Log(Component::kApp).critical("--advertised-url: {}", st.message());
      return 2;
    }
  }

  FitDescriptorLimit(&*config);

  // Block the stop signals before any thread starts, then wait for them here.
  // SIGHUP (the terminal went away) stops featmond as SIGTERM does: there are
  // no log files to reopen, and the config is read only at start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  featmon::AppOptions options;
  options.config = std::move(*config);
  options.embedded_kafka = embedded;
  auto app = featmon::App::Start(std::move(options));
  if (!app.ok()) {
    Log(Component::kApp).critical("cannot start: {}", app.status().message());
    return 1;
  }
  // Start has opened the store, started the HTTP server and the consumer threads.
  Log(Component::kApp).info("featmond {} serving HTTP on port {}, consuming from {}", featmon::FeatmonVersion(),
                            (*app)->http_port(), (*app)->kafka_bootstrap());
  featmon::NotifyReady("consuming from " + (*app)->kafka_bootstrap() + ", serving HTTP on port " +
                       std::to_string((*app)->http_port()));

  const int sig = WaitForStopSignal(signals, **app);
  Log(Component::kApp).info("signal {} ({}): persisting state and leaving the group", sig, strsignal(sig));
  featmon::NotifyStopping("persisting state and leaving the group");
  // The promise is an exit within 10 s. Stop bounds each of its waits; this
  // is the backstop for one it does not know about (a disk that hangs).
  // Leaving early is safe: state and offsets are stored together at every
  // commit, so a restart resumes exactly where the last one ended.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(9));
    Log(Component::kApp).error("stopping has taken 9 s; exiting without waiting further (nothing stored is lost: "
                               "the next start resumes from the last commit)");
    spdlog::shutdown();
    std::fflush(stdout);
    _exit(0);
  }).detach();
  featmon::Status st = (*app)->Stop();
  if ((*app)->kafka_close_abandoned()) {
    // librdkafka still runs a close on its own threads: leave without the
    // static destructors it could race with. State and offsets are stored.
    Log(Component::kApp).info("stopped; the Kafka group is left to time out (the broker did not answer the close)");
    spdlog::shutdown();
    std::fflush(stdout);
    _exit(st.ok() ? 0 : 1);
  }
  app->reset();
  if (!st.ok()) {
    Log(Component::kApp).error("shutdown: {}", st.ToString());
    return 1;
  }
  Log(Component::kApp).info("stopped cleanly");
  return 0;
}
