// featmond: flags in, App out. Everything else lives in the libraries.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "daemon/app/app.h"

int main(int argc, char** argv) {
  CLI::App cli{"featmond: real-time user and item features from Kafka, served over HTTP"};
  std::string config_path, data_dir, http_listen, brokers, log_level = "info";
  bool embedded = false;
  cli.add_option("--config", config_path, "YAML config file (default: the embedded default config)");
  cli.add_option("--data-dir", data_dir, "RocksDB data directory (store.data_dir)");
  cli.add_option("--http-listen", http_listen, "HOST:PORT for HTTP (http.listen)");
  cli.add_option("--kafka-brokers", brokers, "Kafka bootstrap servers (kafka.brokers)");
  cli.add_flag("--embedded-kafka", embedded, "start an in-process Kafka-protocol broker and consume from it");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  cli.set_version_flag("--version", std::string("featmond ") + featmon::FeatmonVersion());
  CLI11_PARSE(cli, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  auto config = config_path.empty() ? featmon::LoadDefaultConfig() : featmon::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "featmond: config error: " << config.status().message() << "\n";
    return 2;
  }
  if (!data_dir.empty()) config->store.data_dir = data_dir;
  if (!brokers.empty()) config->kafka.brokers = brokers;
  if (!http_listen.empty()) {
    std::string host;
    uint16_t port;
    featmon::Status st = featmon::ParseHostPort(http_listen, &host, &port);
    if (!st.ok()) {
      std::cerr << "featmond: --http-listen: " << st.message() << "\n";
      return 2;
    }
    config->http.listen = http_listen;
  }

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
    std::cerr << "featmond: " << app.status().message() << "\n";
    return 1;
  }
  spdlog::info("featmond {} serving HTTP on port {} (listen {}), consuming from {}", featmon::FeatmonVersion(),
               (*app)->http_port(), http_listen.empty() ? "per config" : http_listen, (*app)->kafka_bootstrap());
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: persisting state and leaving the group", sig);
  featmon::Status st = (*app)->Stop();
  app->reset();
  if (!st.ok()) {
    spdlog::error("shutdown: {}", st.ToString());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}
