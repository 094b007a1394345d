// A Kafka-protocol broker in this process: librdkafka's mock cluster on
// loopback, with the given topics created. Real clients (kcat, librdkafka,
// confluent-kafka) talk to it at bootstrap(). It keeps only about the newest
// 5 MiB per partition, which is why topics get several partitions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace featmon {

struct EmbeddedBrokerOptions {
  int brokers = 1;                   // mock brokers. Default: 1
  int partitions = 8;                // partitions of each topic. Default: 8
  std::vector<std::string> topics;   // created at start. Default: none
};

class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> Start(const EmbeddedBrokerOptions& options);
  ~EmbeddedBroker();
  const std::string& bootstrap() const { return bootstrap_; }

  // Fault injection for tests, one command per call:
  //   down <broker id>            the broker closes its connections and refuses new ones
  //   up <broker id>              it serves again
  //   rtt <broker id> <ms>        every response is delayed this long
  //   create <topic> <partitions> a topic, with that many partitions
  //   errors <api key> <count> <error code>
  //                               the next <count> requests of that API get that error
  //   delay <broker id> <api key> <ms>
  //                               that broker answers its next request of that API
  //                               after <ms>, with NOT_COORDINATOR (the client retries)
  // Broker ids start at 1; API keys and error codes are Kafka's numbers.
  Status Control(const std::string& command);

 private:
  EmbeddedBroker() = default;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace featmon
