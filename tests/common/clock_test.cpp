#include "common/clock.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(FormatUtcMs, WritesRfc3339InUtcToTheMillisecond) {
  EXPECT_EQ(FormatUtcMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtcMs(1796639579709), "2026-12-07T10:32:59.709Z");
  EXPECT_EQ(FormatUtcMs(951782400000 + 5), "2000-02-29T00:00:00.005Z");  // a leap day
  EXPECT_EQ(FormatUtcMs(-1), "1969-12-31T23:59:59.999Z") << "milliseconds stay positive before the epoch";
}

}  // namespace
}  // namespace featmon
