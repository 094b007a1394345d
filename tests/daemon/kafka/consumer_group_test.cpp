// KafkaConsumer in a group against the in-process mock cluster: tasks (views
// partition p with clicks partition p) are never split between members, and
// a member joining or leaving moves only the tasks that change owner
// (cooperative-sticky); the others are never revoked. Topics that are not
// co-partitioned are refused at start with the settings named.
#include "daemon/kafka/kafka_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/kafka/embedded_broker.h"

namespace featmon {
namespace {

using std::chrono::steady_clock;

constexpr int kPartitions = 6;

// One member: a consumer whose listener records what it holds, with a thread
// serving its group events and draining its messages.
class Member final : public RebalanceListener {
 public:
  explicit Member(const KafkaClientOptions& options) {
    auto consumer = KafkaConsumer::Create(options, this, 1);
    if (!consumer.ok()) {
      error_ = consumer.status().ToString();
      return;
    }
    consumer_ = std::move(*consumer);
    if (Status st = consumer_->Subscribe(); !st.ok()) {
      error_ = st.ToString();
      return;
    }
    thread_ = std::thread([this] {
      std::vector<InputMessage> messages;
      while (!stop_) {
        (void)consumer_->ServeEvents(20);
        messages.clear();
        (void)consumer_->worker_source(0)->Poll(100, 20, &messages);
      }
    });
  }
  ~Member() override { Leave(); }

  void Leave() {
    if (!consumer_) return;
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    (void)consumer_->Close(10'000);  // serves the final revoke
    consumer_.reset();
  }

  Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>*) override {
    std::lock_guard lock(mu_);
    for (const auto& tp : partitions) EXPECT_TRUE(held_.insert(tp).second) << tp.topic << "/" << tp.partition << " twice";
    return Status::Ok();
  }
  void OnRevoked(const std::vector<TopicPartition>& partitions) override {
    std::lock_guard lock(mu_);
    for (const auto& tp : partitions)
      if (held_.erase(tp)) revoked_.insert(tp);
  }

  const std::string& error() const { return error_; }
  std::set<TopicPartition> held() const {
    std::lock_guard lock(mu_);
    return held_;
  }
  // What was revoked since the last call.
  std::set<TopicPartition> TakeRevoked() {
    std::lock_guard lock(mu_);
    return std::exchange(revoked_, {});
  }

 private:
  std::unique_ptr<KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<TopicPartition> held_, revoked_;
  std::string error_;
};

class ConsumerGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, kPartitions, {"views", "clicks"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    options_.brokers = broker_->bootstrap();
    options_.group_id = "consumer-group-test";
    options_.topics = {"views", "clicks"};
    options_.topic_settings = {"kafka.topics.views", "kafka.topics.clicks"};
    options_.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "200"}};
  }

  // Waits until the members together hold every partition of both topics,
  // each exactly once; the holdings then.
  std::vector<std::set<TopicPartition>> WaitBalanced(const std::vector<Member*>& members) {
    std::vector<std::set<TopicPartition>> held;
    const auto deadline = steady_clock::now() + std::chrono::seconds(60);
    while (steady_clock::now() < deadline) {
      held.clear();
      size_t total = 0;
      std::set<TopicPartition> all;
      bool everyone = true;
      for (Member* m : members) {
        held.push_back(m->held());
        total += held.back().size();
        all.insert(held.back().begin(), held.back().end());
        everyone = everyone && !held.back().empty();
      }
      if (everyone && total == 2 * kPartitions && all.size() == total) return held;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the group did not settle with every partition held once";
    return held;
  }

  static void ExpectWholeTasks(const std::set<TopicPartition>& held) {
    for (const auto& tp : held) {
      const TopicPartition sibling{tp.topic == "views" ? "clicks" : "views", tp.partition};
      EXPECT_TRUE(held.count(sibling)) << tp.topic << "/" << tp.partition << " without " << sibling.topic;
    }
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  KafkaClientOptions options_;
};

TEST_F(ConsumerGroupTest, AJoinOrLeaveMovesOnlyTheTasksThatChangeOwner) {
  Member first(options_);
  ASSERT_EQ(first.error(), "");
  auto held = WaitBalanced({&first});
  EXPECT_EQ(held[0].size(), 2u * kPartitions);
  first.TakeRevoked();

  Member second(options_);
  ASSERT_EQ(second.error(), "");
  held = WaitBalanced({&first, &second});
  for (const auto& h : held) ExpectWholeTasks(h);
  EXPECT_EQ(held[0].size(), held[1].size()) << "six tasks over two members";
  // Cooperative: the first member gave up exactly what the second took.
  EXPECT_EQ(first.TakeRevoked(), held[1]);

  Member third(options_);
  ASSERT_EQ(third.error(), "");
  held = WaitBalanced({&first, &second, &third});
  for (const auto& h : held) ExpectWholeTasks(h);
  std::set<TopicPartition> given_up = first.TakeRevoked();
  for (const auto& tp : second.TakeRevoked()) given_up.insert(tp);
  EXPECT_EQ(given_up, held[2]) << "only what the third member took moved";
  for (const auto& h : held) EXPECT_EQ(h.size(), 4u) << "two tasks each";

  // A leave: its tasks go to the others, who keep everything they had.
  const std::set<TopicPartition> first_had = held[0], third_had = held[2];
  second.Leave();
  held = WaitBalanced({&first, &third});
  for (const auto& h : held) ExpectWholeTasks(h);
  EXPECT_EQ(first.TakeRevoked(), std::set<TopicPartition>{});
  EXPECT_EQ(third.TakeRevoked(), std::set<TopicPartition>{});
  for (const auto& tp : first_had) EXPECT_TRUE(held[0].count(tp));
  for (const auto& tp : third_had) EXPECT_TRUE(held[1].count(tp));
}

TEST_F(ConsumerGroupTest, TopicsThatAreNotCoPartitionedAreRefusedAtStart) {
  ASSERT_TRUE(broker_->Control("create predictions 4").ok());
  KafkaClientOptions options = options_;
  options.topics = {"predictions", "clicks"};
  options.topic_settings = {"kafka.topics.predictions", "kafka.topics.clicks"};
  auto consumer = KafkaConsumer::Create(options, nullptr);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.status().code(), StatusCode::kInvalidArgument);
  const std::string& why = consumer.status().message();
  EXPECT_NE(why.find("kafka.topics.clicks 'clicks' has 6 partitions"), std::string::npos) << why;
  EXPECT_NE(why.find("kafka.topics.predictions 'predictions' has 4"), std::string::npos) << why;
  // A missing topic cannot be shown here: the mock cluster creates one (with
  // 4 partitions) for any metadata request, whatever allow.auto.create.topics
  // says, so it is refused as above.
}

}  // namespace
}  // namespace featmon
