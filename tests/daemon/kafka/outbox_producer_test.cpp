// The examples outbox's producer against the in-process mock cluster: what it
// reports delivered is where it says, and reading the topic back finds
// exactly its own records past the offsets it is given.
#include "daemon/kafka/outbox_producer.h"

#include <gtest/gtest.h>

#include "daemon/kafka/embedded_broker.h"

namespace featmon {
namespace {

TEST(OutboxHeaderTest, RoundTripsAndRejectsWhatIsNotOne) {
  uint64_t id = 0, seq = 0;
  ASSERT_TRUE(ParseOutboxHeader(OutboxHeaderValue(0xfeedface12345678, 42), &id, &seq));
  EXPECT_EQ(id, 0xfeedface12345678u);
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(OutboxHeaderValue(1, 7), "0000000000000001:7");
  EXPECT_FALSE(ParseOutboxHeader("0000000000000001:", &id, &seq));
  EXPECT_FALSE(ParseOutboxHeader("000000000000001:7", &id, &seq));
  EXPECT_FALSE(ParseOutboxHeader("0000000000000001:7x", &id, &seq));
  EXPECT_FALSE(ParseOutboxHeader("", &id, &seq));
}

TEST(KafkaOutboxProducerTest, ReadingBackFindsItsOwnRecordsPastTheGivenOffsets) {
  auto broker = EmbeddedBroker::Start({1, 3, {"examples"}});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  KafkaClientOptions options;
  options.brokers = (*broker)->bootstrap();
  auto producer = KafkaOutboxProducer::Create(options, "examples");
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  KafkaOutboxProducer& p = **producer;

  constexpr uint64_t kMine = 0xabc, kOther = 0xdef;
  for (uint64_t seq = 0; seq < 60; ++seq)
    ASSERT_TRUE(p.Produce(seq % 2 ? kOther : kMine, seq, "user" + std::to_string(seq % 7), "v").ok());
  std::vector<OutboxDelivery> fates;
  for (int i = 0; i < 100 && fates.size() < 60; ++i) p.Flush(100, &fates);
  ASSERT_EQ(fates.size(), 60u);
  EXPECT_EQ(p.in_flight(), 0u);
  std::map<int32_t, int64_t> past_first_half;  // offset past the deliveries of seq < 30
  for (const OutboxDelivery& d : fates) {
    ASSERT_GE(d.offset, 0) << d.seq;
    if (d.seq < 30) past_first_half[d.partition] = std::max(past_first_half[d.partition], d.offset + 1);
  }
  // The same key lands on the same partition (murmur2).
  std::map<uint64_t, int32_t> partition_of_key;
  for (const OutboxDelivery& d : fates) {
    auto [it, inserted] = partition_of_key.emplace(d.seq % 7, d.partition);
    EXPECT_EQ(it->second, d.partition);
  }

  std::set<uint64_t> found;
  std::map<int32_t, int64_t> ends;
  ASSERT_TRUE(p.FindDelivered(kMine, {}, &found, &ends).ok());
  std::set<uint64_t> mine;
  for (uint64_t seq = 0; seq < 60; seq += 2) mine.insert(seq);
  EXPECT_EQ(found, mine);
  int64_t total = 0;
  for (const auto& [partition, end] : ends) total += end;
  EXPECT_EQ(total, 60);

  found.clear();
  ASSERT_TRUE(p.FindDelivered(kMine, past_first_half, &found, &ends).ok());
  std::set<uint64_t> second_half;
  for (uint64_t seq = 30; seq < 60; seq += 2) second_half.insert(seq);
  EXPECT_EQ(found, second_half);

  found.clear();
  ASSERT_TRUE(p.FindDelivered(kMine, ends, &found, &ends).ok());
  EXPECT_TRUE(found.empty());
}

}  // namespace
}  // namespace featmon
