// featmond: flags in, App out. Everything else lives in the libraries; this
// file also speaks to the service manager (readiness, watchdog, stopping).
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <csignal>
#include <ctime>
#include <iostream>

#include "daemon/app/app.h"
#include "daemon/logging/log.h"
#include "daemon/systemd/service_notify.h"

namespace {

using featmon::Component;
using featmon::Log;

// Waits for SIGINT or SIGTERM. With a systemd watchdog, wakes four times per
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
  CLI::App cli{"featmond: real-time user and item features from Kafka, served over HTTP"};
  std::string config_path, data_dir, http_listen, brokers, group_id, log_level = "info", log_format = "text";
  bool embedded = false, print_default_config = false;
  cli.add_option("--config", config_path, "YAML config file (default: the embedded default config)");
  cli.add_option("--data-dir", data_dir, "RocksDB data directory (store.data_dir)");
  cli.add_option("--http-listen", http_listen, "HOST:PORT for HTTP (http.listen)");
  cli.add_option("--kafka-brokers", brokers, "Kafka bootstrap servers (kafka.brokers)");
  cli.add_option("--kafka-group-id", group_id,
                 "consumer group (kafka.group_id); monitoring uses <group>.monitor. Replicas that each keep "
                 "every partition need one each, e.g. featmond-$(POD_NAME)");
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
  if (!http_listen.empty()) {
    featmon::Status st = featmon::SetHttpListen(http_listen, &config->http.server);
    if (!st.ok()) {
      Log(Component::kApp).critical("--http-listen: {}", st.message());
      return 2;
    }
  }

  FitDescriptorLimit(&*config);

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
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
  Log(Component::kApp).info("signal {}: persisting state and leaving the group", sig);
  featmon::NotifyStopping("persisting state and leaving the group");
  featmon::Status st = (*app)->Stop();
  app->reset();
  if (!st.ok()) {
    Log(Component::kApp).error("shutdown: {}", st.ToString());
    return 1;
  }
  Log(Component::kApp).info("stopped cleanly");
  return 0;
}
