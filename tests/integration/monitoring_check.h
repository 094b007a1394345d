// Comparing model-monitoring reports of two featmond processes: one that
// lived through faults and one that replayed the same stream undisturbed.
#pragma once

#include <cmath>

#include "tests/integration/harness.h"

namespace featmon::testing {

// Equal JSON, numbers to 1e-12 relative (sums taken in another order).
inline void ExpectSameJson(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_NEAR(x, y, 1e-12 * std::max(1.0, std::fabs(y))) << path;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << path;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << path << "." << it.key();
      ExpectSameJson(it.value(), b[it.key()], path + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i) ExpectSameJson(a[i], b[i], path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << path;
  }
}

inline int64_t Watermark(uint16_t port) {
  auto j = Http(port, "GET", "/v1/monitoring/models").json();
  return j.is_discarded() || !j.contains("watermark_ms") ? 0 : j["watermark_ms"].get<int64_t>();
}

// The report once the watermark has reached `at_least` and neither it nor the
// report changed over one poll (all data read, before any partition counts as
// idle), so two daemons are compared at the same evaluation. A steady
// watermark alone is not enough: it is the slowest partition's, so the newest
// predictions of another partition can still be on their way in (CI saw a
// report taken one second of predictions short), and neither is a report
// that stayed the same over one poll: under ASan, CI once compared a
// replaying process's report that was 218 predictions and 0.5 s of stream
// short, with a lower watermark (fewer labels matured), as when its reading
// pauses longer than a poll. So every partition must also have been read to
// its end (no consumer lag).
inline nlohmann::json SettledReport(uint16_t port, int64_t at_least) {
  int64_t last = -1;
  nlohmann::json previous;
  for (int i = 0; i < 120; ++i) {
    const int64_t w = Watermark(port);
    auto report = Http(port, "GET", "/v1/monitoring/models/ctr_ranker").json();
    if (w >= at_least && w == last && !report.is_discarded() && report == previous && TotalConsumerLag(port) == 0)
      return report;
    last = w;
    previous = std::move(report);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  ADD_FAILURE() << "watermark or report never settled at or above " << at_least << " (last " << last << ")";
  return nlohmann::json();
}

}  // namespace featmon::testing
