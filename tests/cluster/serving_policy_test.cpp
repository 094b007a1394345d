#include "cluster/serving_policy.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(ServingPolicyTest, BeforeItsFirstAssignmentAnInstanceAnswersFromWhatItHolds) {
  EXPECT_EQ(DecideServing({false, 0, 0}, true), Coverage::kEverything);
  EXPECT_EQ(DecideServing({false, 0, 8}, false), Coverage::kEverything);
}

TEST(ServingPolicyTest, BeforeItsFirstAssignmentAClusterMemberAnswersFromNoLocalCopy) {
  const TaskHoldings restarted{.assigned = false, .held = 0, .total = 8, .cluster_member = true};
  EXPECT_EQ(DecideServing(restarted, true), Coverage::kHeldTasks);  // it holds none: asked of the owner
  EXPECT_EQ(DecideServing(restarted, false), Coverage::kNothing);   // gathered from the owners
  const std::string why = WhyRefused(restarted, true, 5);
  EXPECT_NE(why.find("not been assigned its tasks since it started"), std::string::npos) << why;
  // Once assigned, what it holds decides, as for any member.
  EXPECT_EQ(DecideServing({.assigned = true, .held = 8, .total = 8, .cluster_member = true}, false),
            Coverage::kEverything);
}

TEST(ServingPolicyTest, AFullCopyAnswersEverything) {
  EXPECT_EQ(DecideServing({true, 8, 8}, true), Coverage::kEverything);
  EXPECT_EQ(DecideServing({true, 8, 8}, false), Coverage::kEverything);
}

TEST(ServingPolicyTest, WithSomeTasksUsersComeFromHeldTasksAndItemsAreRefused) {
  EXPECT_EQ(DecideServing({true, 3, 8}, true), Coverage::kHeldTasks);
  const std::string user = WhyRefused({true, 3, 8}, true);
  EXPECT_NE(user.find("holds 3 of 8 tasks"), std::string::npos) << user;
  const std::string routed = WhyRefused({true, 3, 8}, true, 5);
  EXPECT_NE(routed.find("it is task 5"), std::string::npos) << routed;
  EXPECT_NE(routed.find("partition 5 in assigned_partitions"), std::string::npos) << routed;
  EXPECT_EQ(DecideServing({true, 3, 8}, false), Coverage::kNothing);
  const std::string item = WhyRefused({true, 3, 8}, false);
  EXPECT_NE(item.find("only part of this entity's events"), std::string::npos) << item;
  EXPECT_NE(item.find("kafka.group_id"), std::string::npos) << item;
}

TEST(ServingPolicyTest, AnInstanceLeftWithNoTaskOrAnUnknownCountAnswersNothingItCannotVouchFor) {
  EXPECT_EQ(DecideServing({true, 0, 8}, true), Coverage::kHeldTasks);
  EXPECT_EQ(DecideServing({true, 0, 8}, false), Coverage::kNothing);
  // The count of tasks unknown (metadata not answered yet): no claim to be whole.
  EXPECT_EQ(DecideServing({true, 4, 0}, false), Coverage::kNothing);
}

// A copy is stale where the group has committed past its checkpoint:
// another member processed that partition since this one last did.
TEST(ServingPolicyTest, AFullCopyIsStaleWhereTheGroupCommittedPastIt) {
  EXPECT_EQ(FirstPassedByGroup({}), -1);
  EXPECT_EQ(FirstPassedByGroup({{10, 10}, {5, 3}, {7, -1}}), -1) << "at or behind the copy, or nothing committed";
  EXPECT_EQ(FirstPassedByGroup({{10, 10}, {5, 6}}), 1);
  EXPECT_EQ(FirstPassedByGroup({{-1, 0}, {-1, 1}}), 1) << "no checkpoint: stale once the group has any offset past 0";
}

}  // namespace
}  // namespace featmon

