#include "cluster/standby_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace featmon::cluster {
namespace {

MemberDirectory::Member M(const std::string& url, std::vector<int32_t> owned) {
  MemberDirectory::Member m;
  m.announced.url = url;
  m.announced.tasks = owned;
  m.owned = std::move(owned);
  return m;
}

TEST(StandbyPolicyTest, EachTaskHasItsReplicasOnTheMembersAfterItsOwner) {
  const std::vector<MemberDirectory::Member> members = {M("http://a", {0, 3}), M("http://b", {1, 4}),
                                                        M("http://c", {2, 5})};
  EXPECT_EQ(StandbyTasksOf(members, "http://a", 6, 1), (std::vector<int32_t>{2, 5}));  // c's: a follows c
  EXPECT_EQ(StandbyTasksOf(members, "http://b", 6, 1), (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(StandbyTasksOf(members, "http://c", 6, 1), (std::vector<int32_t>{1, 4}));
  // Two replicas: every task everywhere but on its owner.
  EXPECT_EQ(StandbyTasksOf(members, "http://a", 6, 2), (std::vector<int32_t>{1, 2, 4, 5}));
  // More replicas than other members: as many as there are.
  EXPECT_EQ(StandbyTasksOf(members, "http://a", 6, 5), (std::vector<int32_t>{1, 2, 4, 5}));
}

TEST(StandbyPolicyTest, NoneWithoutReplicasOrPeersOrWhenNotAMember) {
  const std::vector<MemberDirectory::Member> members = {M("http://a", {0, 1}), M("http://b", {2, 3})};
  EXPECT_TRUE(StandbyTasksOf(members, "http://a", 4, 0).empty());
  EXPECT_TRUE(StandbyTasksOf(members, "http://z", 4, 1).empty());
  EXPECT_TRUE(StandbyTasksOf({M("http://a", {0, 1, 2, 3})}, "http://a", 4, 1).empty());
}

// A member killed without a tombstone stays in the directory owning
// nothing: it takes no standby role, so the living keep every copy.
TEST(StandbyPolicyTest, AMemberOwningNothingIsSkipped) {
  const std::vector<MemberDirectory::Member> members = {M("http://a", {0, 2}), M("http://b", {}),
                                                        M("http://c", {1, 3})};
  EXPECT_EQ(StandbyTasksOf(members, "http://a", 4, 1), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(StandbyTasksOf(members, "http://c", 4, 1), (std::vector<int32_t>{0, 2}));
  EXPECT_TRUE(StandbyTasksOf(members, "http://b", 4, 1).empty());
}

// The group has not reassigned the tasks of a member that crashed: they
// still get their replicas, placed as if owned by the member at task % n.
TEST(StandbyPolicyTest, UnclaimedTasksStillHaveReplicas) {
  const std::vector<MemberDirectory::Member> members = {M("http://a", {0}), M("http://b", {1})};
  // Tasks 2 and 3 are unclaimed: 2 % 2 = 0 (a), so b keeps it; 3 % 2 = 1 (b), so a keeps it.
  EXPECT_EQ(StandbyTasksOf(members, "http://a", 4, 1), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(StandbyTasksOf(members, "http://b", 4, 1), (std::vector<int32_t>{0, 2}));
}

// Every member decides alone: together they must give each task exactly
// min(replicas, members - 1) standbys, never on its owner.
TEST(StandbyPolicyTest, EveryMemberDecidingAloneGivesEachTaskItsReplicas) {
  for (int n = 1; n <= 6; ++n) {
    for (int replicas = 0; replicas <= 3; ++replicas) {
      const int32_t tasks = 13;
      std::vector<MemberDirectory::Member> members;
      std::map<int32_t, std::string> owner;
      for (int i = 0; i < n; ++i) members.push_back(M("http://m" + std::to_string(i), {}));
      for (int32_t t = 0; t < tasks; ++t) {
        if (t % 5 == 4) continue;  // unclaimed
        auto& m = members[static_cast<size_t>((t * 7) % n)];
        m.owned.push_back(t);
        owner[t] = m.announced.url;
      }
      std::map<int32_t, std::set<std::string>> standbys;
      for (const auto& m : members)
        for (int32_t t : StandbyTasksOf(members, m.announced.url, tasks, replicas))
          standbys[t].insert(m.announced.url);
      for (int32_t t = 0; t < tasks; ++t) {
        const size_t expected = static_cast<size_t>(std::min(replicas, n - 1));
        EXPECT_EQ(standbys[t].size(), expected) << "n " << n << " replicas " << replicas << " task " << t;
        if (owner.count(t)) {
          EXPECT_EQ(standbys[t].count(owner[t]), 0u) << "task " << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace featmon::cluster
