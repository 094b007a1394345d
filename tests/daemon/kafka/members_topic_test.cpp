// The members topic against the in-process mock cluster: two instances'
// announcements reach each other in one order, whatever partition count the
// topic has, and a tombstone removes a member.
#include "daemon/kafka/members_topic.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "daemon/kafka/embedded_broker.h"

namespace featmon {
namespace {

template <typename F>
bool WaitFor(F done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string OwnerUrl(const MembersTopic& t, int32_t task) {
  auto owner = t.OwnerOf(task);
  return owner ? owner->url : "";
}

TEST(MembersTopicTest, InstancesSeeEachOthersAnnouncementsInOneOrder) {
  // Three partitions: the announcements still share partition 0.
  auto broker = EmbeddedBroker::Start({1, 3, {"featmond.members"}});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  KafkaClientOptions options;
  options.brokers = (*broker)->bootstrap();
  auto a = MembersTopic::Start(options, "featmond.members");
  auto b = MembersTopic::Start(options, "featmond.members");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << b.status().ToString();

  ASSERT_TRUE((*a)->Announce({"http://a:8080", "run-a", {0, 1, 2, 3}, 4, 1, {}}).ok());
  ASSERT_TRUE(WaitFor([&] { return OwnerUrl(**b, 3) == "http://a:8080"; }));
  ASSERT_TRUE((*a)->Announce({"http://a:8080", "run-a", {0, 1}, 4, 2, {}}).ok());
  ASSERT_TRUE((*b)->Announce({"http://b:8080", "run-b", {2, 3}, 4, 3, {}}).ok());
  for (auto* t : {a->get(), b->get()}) {
    ASSERT_TRUE(WaitFor([&] { return OwnerUrl(*t, 2) == "http://b:8080" && OwnerUrl(*t, 1) == "http://a:8080"; }));
    EXPECT_TRUE(t->Unclaimed(4).empty());
    EXPECT_EQ(t->Members().size(), 2u);
  }
  ASSERT_TRUE((*b)->Leave("http://b:8080", 5'000).ok());
  ASSERT_TRUE(WaitFor([&] { return (*a)->Members().size() == 1; }));
  EXPECT_EQ((*a)->Unclaimed(4), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ((*a)->last_error(), "");
}

}  // namespace
}  // namespace featmon
