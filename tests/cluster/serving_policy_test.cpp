#include "cluster/serving_policy.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(ServingPolicyTest, BeforeItsFirstAssignmentAnInstanceAnswersFromWhatItHolds) {
  EXPECT_EQ(DecideServing({false, 0, 0}, true).coverage, Coverage::kEverything);
  EXPECT_EQ(DecideServing({false, 0, 8}, false).coverage, Coverage::kEverything);
}

TEST(ServingPolicyTest, AFullCopyAnswersEverything) {
  EXPECT_EQ(DecideServing({true, 8, 8}, true).coverage, Coverage::kEverything);
  EXPECT_EQ(DecideServing({true, 8, 8}, false).coverage, Coverage::kEverything);
}

TEST(ServingPolicyTest, WithSomeTasksUsersComeFromHeldTasksAndItemsAreRefused) {
  ServingDecision user = DecideServing({true, 3, 8}, true);
  EXPECT_EQ(user.coverage, Coverage::kHeldTasks);
  EXPECT_NE(user.why.find("holds 3 of 8 tasks"), std::string::npos) << user.why;
  ServingDecision item = DecideServing({true, 3, 8}, false);
  EXPECT_EQ(item.coverage, Coverage::kNothing);
  EXPECT_NE(item.why.find("only part of this entity's events"), std::string::npos) << item.why;
  EXPECT_NE(item.why.find("kafka.group_id"), std::string::npos) << item.why;
}

TEST(ServingPolicyTest, AnInstanceLeftWithNoTaskOrAnUnknownCountAnswersNothingItCannotVouchFor) {
  EXPECT_EQ(DecideServing({true, 0, 8}, true).coverage, Coverage::kHeldTasks);
  EXPECT_EQ(DecideServing({true, 0, 8}, false).coverage, Coverage::kNothing);
  // The count of tasks unknown (metadata not answered yet): no claim to be whole.
  EXPECT_EQ(DecideServing({true, 4, 0}, false).coverage, Coverage::kNothing);
}

}  // namespace
}  // namespace featmon
