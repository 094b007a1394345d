// librdkafka implementations of MessageSource and DeadLetterSink.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/kafka/message_source.h"

namespace featmon {

struct KafkaClientOptions {
  std::string brokers;                            // bootstrap.servers. Required.
  std::string group_id = "featmond";              // group.id. Default: featmond
  std::vector<std::string> topics;                // subscribed topics. Required for consumers.
  std::map<std::string, std::string> properties;  // extra librdkafka settings, applied last. Default: none
};

class KafkaConsumer final : public MessageSource {
 public:
  // `listener` must outlive the consumer.
  static Result<std::unique_ptr<KafkaConsumer>> Create(const KafkaClientOptions& options, RebalanceListener* listener);
  ~KafkaConsumer() override;

  Status Poll(size_t max, int timeout_ms, std::vector<InputMessage>* out) override;
  void CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) override;
  std::vector<PartitionLag> HighWatermarks() override;
  Status Close() override;

 private:
  KafkaConsumer() = default;
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  void ReleaseBatch();

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  RebalanceListener* listener_ = nullptr;
  std::vector<rd_kafka_message_t*> batch_;
  size_t batch_len_ = 0;
  std::vector<TopicPartition> assignment_;
  Status rebalance_error_;
  int64_t reset_offset_ = RD_KAFKA_OFFSET_BEGINNING;  // where a partition with no stored checkpoint starts
  bool closed_ = false;
};

class KafkaDeadLetterProducer final : public DeadLetterSink {
 public:
  static Result<std::unique_ptr<KafkaDeadLetterProducer>> Create(const KafkaClientOptions& options, std::string topic);
  ~KafkaDeadLetterProducer() override;
  Status Send(const InputMessage& msg, std::string_view reason, std::string_view detail) override;
  Status Flush(int timeout_ms) override;

 private:
  KafkaDeadLetterProducer() = default;
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  std::atomic<int64_t> failed_{0};
};

// Builds a librdkafka configuration; errors name the property.
Result<rd_kafka_conf_t*> MakeKafkaConf(const std::map<std::string, std::string>& settings);

}  // namespace featmon
