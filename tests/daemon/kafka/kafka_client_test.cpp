// The librdkafka adapters against the in-process mock cluster: a producer
// that never loses a record, and dead letters cut to a size that fits.
#include "daemon/kafka/kafka_client.h"

#include <gtest/gtest.h>


#include "daemon/kafka/embedded_broker.h"
#include "tests/common/topic_reader.h"

namespace featmon {
namespace {

class KafkaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, 1, {"dlq", "retrain"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    options_.brokers = broker_->bootstrap();
  }
  std::unique_ptr<EmbeddedBroker> broker_;
  KafkaClientOptions options_;
};

// bf86bbb sent the whole message, which the producer refused (message.max.bytes
// is 1,000,000): the dead letter was lost, and the offset moved past it.
TEST_F(KafkaClientTest, AnOversizeDeadLetterIsCutAndSaysSo) {
  auto dlq = KafkaTopicProducer::Create(options_, "dlq");
  ASSERT_TRUE(dlq.ok()) << dlq.status().ToString();
  const std::string payload = "{\"user_id\":\"" + std::string(1'000'000, 'u') + "\",\"item_id\":\"i1\",\"ts_ms\":1}";
  const std::string key(5'000, 'k');
  InputMessage msg{"views", 3, 41, key, payload};
  ASSERT_TRUE((*dlq)->Send(msg, "id_too_long", "an id is 1000000 bytes, limit 256").ok());
  ASSERT_TRUE((*dlq)->Flush(10'000).ok());
  auto records = testing::ReadTopic(broker_->bootstrap(), "dlq", 1);
  ASSERT_EQ(records.size(), 1u);
  const testing::TopicRecord& r = records[0];
  EXPECT_EQ(r.payload, payload.substr(0, kDefaultDeadLetterMaxPayloadBytes));
  EXPECT_EQ(r.key, key.substr(0, 4096));
  EXPECT_EQ(r.headers.at("featmon.truncated"), "key,payload");
  EXPECT_EQ(r.headers.at("featmon.original.payload_bytes"), std::to_string(payload.size()));
  EXPECT_EQ(r.headers.at("featmon.original.key_bytes"), "5000");
  EXPECT_EQ(r.headers.at("featmon.reason"), "id_too_long");
  EXPECT_EQ(r.headers.at("featmon.source.topic"), "views");
  EXPECT_EQ(r.headers.at("featmon.source.partition"), "3");
  EXPECT_EQ(r.headers.at("featmon.source.offset"), "41");
  // A message that fits goes as it is, with no truncation headers.
  ASSERT_TRUE((*dlq)->Send({"views", 0, 7, "", "garbage"}, "decode_error", "json: bad").ok());
  ASSERT_TRUE((*dlq)->Flush(10'000).ok());
  records = testing::ReadTopic(broker_->bootstrap(), "dlq", 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].payload, "garbage");
  EXPECT_EQ(records[1].headers.count("featmon.truncated"), 0u);
}

// A record whose delivery failed must stay failed until it is delivered:
// bf86bbb's Flush reported the failure once and then succeeded, so the next
// commit passed a retrain request (or dead letter) that never arrived.
TEST_F(KafkaClientTest, AFailedDeliveryKeepsFlushFailingUntilTheRecordArrives) {
  options_.producer_properties = {{"message.timeout.ms", "300"}, {"retry.backoff.ms", "50"}};
  auto producer = KafkaTopicProducer::Create(options_, "retrain");
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  ASSERT_TRUE(broker_->Control("down 1").ok());
  ASSERT_TRUE((*producer)->Produce("ctr_ranker", "request-1").ok());
  Status first = (*producer)->Flush(1'500);
  EXPECT_FALSE(first.ok());
  Status second = (*producer)->Flush(500);
  EXPECT_FALSE(second.ok()) << "the broker is still down, yet the flush passed";
  EXPECT_NE(second.message().find("not delivered"), std::string::npos) << second.ToString();
  ASSERT_TRUE(broker_->Control("up 1").ok());
  Status third = Status::Unavailable("not tried");
  for (int i = 0; i < 20 && !third.ok(); ++i) third = (*producer)->Flush(1'000);
  ASSERT_TRUE(third.ok()) << third.ToString();
  EXPECT_EQ((*producer)->undelivered(), 0u);
  auto records = testing::ReadTopic(broker_->bootstrap(), "retrain", 1);
  ASSERT_GE(records.size(), 1u);  // at least once
  EXPECT_EQ(records[0].key, "ctr_ranker");
  EXPECT_EQ(records[0].payload, "request-1");
}

}  // namespace
}  // namespace featmon
