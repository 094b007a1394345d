// A small librdkafka producer for the generator, tests and benchmarks.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/status.h"

namespace featmon {

class SimpleProducer {
 public:
  // Extra settings are "key=value" pairs separated by commas, e.g. "compression.type=lz4".
  static Result<std::unique_ptr<SimpleProducer>> Create(const std::string& brokers, const std::string& extra = "");
  ~SimpleProducer();
  // Queues one message; waits while the local queue is full.
  Status Send(const std::string& topic, const std::string& key, const std::string& value, int32_t partition = -1);
  Status Flush(int timeout_ms);
  int64_t delivered() const { return delivered_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::atomic<int64_t> delivered_{0}, failed_{0};
};

}  // namespace featmon
