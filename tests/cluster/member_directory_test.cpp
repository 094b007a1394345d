#include "cluster/member_directory.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

MemberAnnouncement Member(const std::string& url, std::vector<int32_t> tasks, const std::string& run = "r1") {
  return {url, run, std::move(tasks), 4, 0, {}};
}

std::string OwnerUrl(const MemberDirectory& d, int32_t task) {
  const MemberAnnouncement* m = d.OwnerOf(task);
  return m ? m->url : "";
}

TEST(MemberDirectoryTest, EachTaskOwnedByItsLatestClaim) {
  MemberDirectory d;
  d.Announce(Member("http://a", {0, 1, 2, 3}), 0);
  EXPECT_EQ(OwnerUrl(d, 2), "http://a");
  EXPECT_TRUE(d.Unclaimed(4).empty());
  // b joins: a is revoked 2 and 3 and says so, then b claims them.
  d.Announce(Member("http://a", {0, 1}), 1);
  EXPECT_EQ(OwnerUrl(d, 2), "");
  EXPECT_EQ(d.Unclaimed(4), (std::vector<int32_t>{2, 3}));
  d.Announce(Member("http://b", {2, 3}), 2);
  for (int32_t t : {0, 1}) EXPECT_EQ(OwnerUrl(d, t), "http://a");
  for (int32_t t : {2, 3}) EXPECT_EQ(OwnerUrl(d, t), "http://b");
}

TEST(MemberDirectoryTest, ACrashedMembersClaimStandsUntilAnotherClaimsItsTasks) {
  MemberDirectory d;
  d.Announce(Member("http://a", {0, 1}), 0);
  d.Announce(Member("http://b", {2, 3}), 1);
  // b is killed: nothing announced; its claim stands (a lookup sent there
  // finds it unreachable and is refused) until the group moves its tasks.
  EXPECT_EQ(OwnerUrl(d, 3), "http://b");
  d.Announce(Member("http://a", {0, 1, 2, 3}), 2);
  EXPECT_EQ(OwnerUrl(d, 3), "http://a");
  auto members = d.Members();
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].owned, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(members[1].owned.empty()) << "b's claim is older than a's";
}

TEST(MemberDirectoryTest, ALateRevokeAnnouncementTakesNothingFromTheNewOwner) {
  MemberDirectory d;
  d.Announce(Member("http://a", {0, 1, 2, 3}), 0);
  d.Announce(Member("http://b", {2, 3}), 1);   // arrived before a's revoke
  d.Announce(Member("http://a", {0, 1}), 2);
  EXPECT_EQ(OwnerUrl(d, 2), "http://b");
  EXPECT_EQ(OwnerUrl(d, 0), "http://a");
}

TEST(MemberDirectoryTest, ARestartedMemberReplacesItsPredecessorAndALeaverClaimsNothing) {
  MemberDirectory d;
  d.Announce(Member("http://a", {0, 1}, "run-1"), 0);
  d.Announce(Member("http://a", {0}, "run-2"), 1);
  ASSERT_EQ(d.Members().size(), 1u);
  EXPECT_EQ(d.OwnerOf(0)->run_id, "run-2");
  EXPECT_EQ(OwnerUrl(d, 1), "");
  d.Leave("http://a");
  EXPECT_TRUE(d.Members().empty());
  EXPECT_EQ(d.Unclaimed(4), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(MemberDirectoryTest, AnnouncementsRoundTripAndBadOnesAreNamed) {
  MemberAnnouncement a{"http://featmond-0.featmond:8080", "9f2c", {5, 1, 3}, 8, 1234, {2, 6}};
  auto back = DecodeAnnouncement(EncodeAnnouncement(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->url, a.url);
  EXPECT_EQ(back->run_id, a.run_id);
  EXPECT_EQ(back->tasks, (std::vector<int32_t>{1, 3, 5}));
  EXPECT_EQ(back->total_tasks, 8);
  EXPECT_EQ(back->at_ms, 1234);
  EXPECT_EQ(back->standby_tasks, (std::vector<int32_t>{2, 6}));
  EXPECT_FALSE(back->monitoring);
  a.monitoring = true;
  EXPECT_TRUE(DecodeAnnouncement(EncodeAnnouncement(a))->monitoring);
  EXPECT_FALSE(DecodeAnnouncement("not json").ok());
  EXPECT_FALSE(DecodeAnnouncement(R"({"run_id":"x","tasks":[]})").ok());
  auto negative = DecodeAnnouncement(R"({"url":"http://a","run_id":"x","tasks":[-1]})");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("http://a"), std::string::npos);
}

TEST(MemberDirectoryTest, TheMonitoringRunsWhereItWasClaimedLast) {
  MemberDirectory d;
  EXPECT_EQ(d.MonitoringOwner(), nullptr);
  MemberAnnouncement a = Member("http://a", {0, 1}), b = Member("http://b", {2, 3});
  a.monitoring = true;
  d.Announce(a, 0);
  d.Announce(b, 1);
  EXPECT_EQ(d.MonitoringOwner()->url, "http://a");
  // a is killed without a word; b is given the monitoring and claims it.
  b.monitoring = true;
  d.Announce(b, 2);
  EXPECT_EQ(d.MonitoringOwner()->url, "http://b");
  // a's restart announces without it; a late claim of a's would win, as for tasks.
  a.monitoring = false;
  d.Announce(a, 3);
  EXPECT_EQ(d.MonitoringOwner()->url, "http://b");
  d.Leave("http://b");
  EXPECT_EQ(d.MonitoringOwner(), nullptr);
}

}  // namespace
}  // namespace featmon
