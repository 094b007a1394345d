#include "daemon/pipeline/commit_gate.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(CommitGateTest, OpensOnlyOnceEverySinkSentToHasDelivered) {
  CommitGate gate(100);
  int flushed_a = 0, flushed_b = 0;
  bool b_fails = true;
  const size_t a = gate.AddSink([&](int timeout) {
    EXPECT_EQ(timeout, 100);
    ++flushed_a;
    return Status::Ok();
  });
  const size_t b = gate.AddSink([&](int) {
    ++flushed_b;
    return b_fails ? Status::Unavailable("2 messages to featmon.retrain were not delivered") : Status::Ok();
  });
  EXPECT_TRUE(gate.Open().ok());  // nothing sent: nothing to flush
  EXPECT_EQ(flushed_a + flushed_b, 0);
  gate.Sent(a);
  gate.Sent(b);
  Status st = gate.Open();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(flushed_a, 1);
  // Shut until b delivers; a, which delivered, is not flushed again.
  EXPECT_FALSE(gate.Open().ok());
  EXPECT_EQ(flushed_a, 1);
  EXPECT_EQ(flushed_b, 2);
  b_fails = false;
  EXPECT_TRUE(gate.Open().ok());
  EXPECT_TRUE(gate.Open().ok());
  EXPECT_EQ(flushed_b, 3);
}

}  // namespace
}  // namespace featmon
