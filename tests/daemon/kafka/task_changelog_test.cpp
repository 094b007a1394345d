// The changelog adapter against the in-process mock cluster: commits land in
// order and restore to the state that counts; a second instance's claim
// takes the task over and the first one's next commit is refused and counted
// for repair; a tail restore reads only what came after the local state; a
// partition whose start was deleted is refused, not read from later.
#include "daemon/kafka/task_changelog.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "daemon/kafka/embedded_broker.h"

namespace featmon {
namespace {

using changelog::ChangelogFold;
using changelog::SourceCheckpoint;
using changelog::StateRecord;
using Store = std::map<std::string, std::string>;

class TaskChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, 4, {"state.changelog"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    KafkaClientOptions options;
    options.brokers = broker_->bootstrap();
    auto topic = ChangelogTopic::Open(options, "state.changelog");
    ASSERT_TRUE(topic.ok()) << topic.status().ToString();
    topic_ = std::move(*topic);
  }

  // Claims `task` as an instance whose store is `store`, restoring into it.
  std::unique_ptr<TaskChangelog> ClaimInto(Store* store, ChangelogFold fold = {}, int64_t from = 0,
                                           ChangelogRestoreStats* stats = nullptr) {
    ChangelogRestoreStats ignored;
    auto held = TaskChangelog::Claim(
        topic_.get(), 2, std::move(fold), from, "test",
        [store](std::vector<ChangelogFold::Write> writes) {
          for (auto& w : writes) {
            if (w.state) (*store)[w.store_key] = *w.state;
            else store->erase(w.store_key);
          }
          return Status::Ok();
        },
        stats ? stats : &ignored);
    EXPECT_TRUE(held.ok()) << held.status().ToString();
    return held.ok() ? std::move(*held) : nullptr;
  }

  static std::vector<StateRecord> States(const Store& changes) {
    std::vector<StateRecord> out;
    for (const auto& [k, v] : changes) out.push_back(StateRecord{k, {}, v});
    return out;
  }
  static std::vector<SourceCheckpoint> At(int64_t offset) { return {{"views", offset, offset * 1000}}; }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<ChangelogTopic> topic_;
};

TEST_F(TaskChangelogTest, AppendsLandInOrderOnTheTasksPartition) {
  auto offsets = topic_->Append(1, {StateRecord{"a", {1, 1}, "x"}, changelog::MarkerRecord{{1, 1}, At(5)}});
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  EXPECT_EQ(*offsets, (std::vector<int64_t>{0, 1}));
  std::vector<std::string> keys;
  ASSERT_TRUE(topic_->Read(1, 0, 2, [&](int64_t, changelog::Record r, size_t) {
    keys.push_back(changelog::RecordKey(r));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(keys.size(), 2u);
  auto bounds = topic_->Bounds(0);
  ASSERT_TRUE(bounds.ok());
  EXPECT_EQ(bounds->second, 0) << "another task's partition got a record";
  EXPECT_EQ(*topic_->PartitionCount(), 4);
}

TEST_F(TaskChangelogTest, ASecondInstanceRestoresTakesOverAndTheFirstIsRefused) {
  Store first_store;
  auto first = ClaimInto(&first_store);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first_store.empty());
  ASSERT_TRUE(first->Commit(States({{"u1", "1"}, {"u2", "1"}}), At(10)).ok());
  ASSERT_TRUE(first->Commit(States({{"u1", "2"}}), At(20)).ok());

  Store second_store;
  ChangelogRestoreStats stats;
  auto second = ClaimInto(&second_store, {}, 0, &stats);
  ASSERT_TRUE(second);
  EXPECT_EQ(second_store, (Store{{"u1", "2"}, {"u2", "1"}}));
  EXPECT_EQ(second->head(), first->head());
  EXPECT_EQ(stats.states, 3u);
  EXPECT_GT(stats.bytes, 0u);
  EXPECT_TRUE(second->RepairKeys().empty());

  // The first has not noticed: its commit lands after the claim and does not count.
  Status zombie = first->Commit(States({{"u2", "zombie"}}), At(30));
  EXPECT_EQ(zombie.code(), StatusCode::kUnavailable) << zombie.ToString();
  EXPECT_NE(zombie.message().find("taken over"), std::string::npos) << zombie.message();
  EXPECT_FALSE(first->Commit(States({{"u3", "x"}}), At(40)).ok()) << "a writer taken over stays refused";

  // The second finds the zombie's record between its own and writes u2 again.
  ASSERT_TRUE(second->Commit(States({{"u3", "1"}}), At(30)).ok());
  EXPECT_EQ(second->RepairKeys(), (std::vector<std::string>{"u2"}));
  ASSERT_TRUE(second->Commit(States({{"u2", "1"}}), At(30)).ok());
  EXPECT_TRUE(second->RepairKeys().empty());

  Store third_store;
  auto third = ClaimInto(&third_store);
  ASSERT_TRUE(third);
  EXPECT_EQ(third_store, (Store{{"u1", "2"}, {"u2", "1"}, {"u3", "1"}}));
}

// A key's state is one record: a model's outgrew librdkafka's 1 MB default
// (1.5 MB in monitoring_test), and its commits were refused for good.
TEST_F(TaskChangelogTest, AStateOfSeveralMegabytesIsOneRecordAndRestores) {
  Store first_store;
  auto first = ClaimInto(&first_store);
  ASSERT_TRUE(first);
  std::string big(3 << 20, '\0');
  std::mt19937_64 random(7);  // incompressible, as sampled doubles are
  for (char& c : big) c = static_cast<char>(random());
  const Status committed = first->Commit(States({{"Sm/model", big}, {"u1", "1"}}), At(10));
  ASSERT_TRUE(committed.ok()) << committed.ToString();

  Store second_store;
  auto second = ClaimInto(&second_store);
  ASSERT_TRUE(second);
  EXPECT_EQ(second_store.size(), 2u);
  EXPECT_TRUE(second_store["Sm/model"] == big) << "the restored state differs (" << second_store["Sm/model"].size()
                                               << " bytes)";
}

TEST_F(TaskChangelogTest, ATailRestoreReadsOnlyWhatCameAfterTheLocalState) {
  Store local;
  auto first = ClaimInto(&local);
  ASSERT_TRUE(first);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(first->Commit(States({{"u" + std::to_string(i), "1"}}), At(i)).ok());
  local = {};
  for (int i = 0; i < 20; ++i) local["u" + std::to_string(i)] = "1";
  // The local store had committed the first 20; the instance then died
  // after appending 2 more commits but before storing them.
  const changelog::CommitId local_head = first->head();
  const int64_t local_next = first->next_offset();
  ASSERT_TRUE(first->Commit(States({{"u20", "1"}}), At(20)).ok());
  ASSERT_TRUE(first->Commit(States({{"u0", "2"}}), At(21)).ok());

  ChangelogRestoreStats stats;
  auto again = ClaimInto(&local, ChangelogFold(local_head, At(19), first->writer()), local_next, &stats);
  ASSERT_TRUE(again);
  EXPECT_EQ(stats.states, 2u);
  EXPECT_EQ(stats.records, 5u) << "two commits of two records, and its own claim";
  EXPECT_EQ(local.at("u0"), "2");
  EXPECT_EQ(local.at("u20"), "1");
  EXPECT_EQ(local.size(), 21u);
}

TEST_F(TaskChangelogTest, APartitionWhoseStartWasDeletedIsRefused) {
  // The mock broker keeps about the newest 5 MiB of a partition: what a
  // topic with cleanup.policy=delete does to a changelog in the end.
  // Random bytes: the producer compresses (lz4), and repeated ones would fit.
  std::mt19937_64 random(7);
  std::string big(256 * 1024, '\0');
  for (int i = 0; i < 32; ++i) {
    for (char& c : big) c = static_cast<char>(random());
    ASSERT_TRUE(topic_->Append(3, {StateRecord{"k", {1, 1}, big}}).ok());
  }
  auto bounds = topic_->Bounds(3);
  ASSERT_TRUE(bounds.ok());
  ASSERT_GT(bounds->first, 0) << "the mock kept everything: this test needs it to drop the oldest";
  Status st = topic_->Read(3, 0, bounds->second, [](int64_t, changelog::Record, size_t) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("cleanup.policy=compact"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace featmon
