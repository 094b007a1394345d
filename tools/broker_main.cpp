// featmon-broker: the embedded Kafka-protocol broker as its own process, for
// development and tests. Prints its bootstrap address on the first line of
// stdout, then runs until SIGINT or SIGTERM. Tests inject faults by writing
// commands to its stdin, one per line (see EmbeddedBroker::Control); each is
// answered with a line "ok" or "error: <why>".
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include "daemon/kafka/embedded_broker.h"

int main(int argc, char** argv) {
  CLI::App cli{"featmon-broker: a Kafka-protocol broker on loopback (librdkafka's mock cluster)"};
  featmon::EmbeddedBrokerOptions options;
  options.topics = {"views", "clicks", "predictions", "featmon.dlq", "featmon.retrain", "featmon.examples"};
  cli.add_option("--partitions", options.partitions, "partitions per topic")->capture_default_str();
  cli.add_option("--brokers", options.brokers, "mock brokers in the cluster")->capture_default_str();
  cli.add_option("--topics", options.topics, "topics to create")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto broker = featmon::EmbeddedBroker::Start(options);
  if (!broker.ok()) {
    std::cerr << "featmon-broker: " << broker.status().message() << "\n";
    return 1;
  }
  std::cout << (*broker)->bootstrap() << std::endl;
  // Detached: it may sit in a read of stdin when a signal ends the process.
  std::thread([b = broker->get()] {
    for (std::string line; std::getline(std::cin, line);) {
      featmon::Status st = b->Control(line);
      std::cout << (st.ok() ? "ok" : "error: " + st.message()) << std::endl;
    }
  }).detach();
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}
