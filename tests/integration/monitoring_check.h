// Comparing model-monitoring reports of two featmond processes: one that
// lived through faults and one that replayed the same stream undisturbed.
#pragma once

#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "daemon/monitor/monitor_options.h"
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

// The line of a `monitoring:` block that sets its commit interval.
inline std::string CommitIntervalYaml(std::chrono::milliseconds interval) {
  return "  commit_interval: " + std::to_string(interval.count()) + "ms\n";
}

inline int64_t Watermark(uint16_t port) {
  auto j = Http(port, "GET", "/v1/monitoring/models").json();
  return j.is_discarded() || !j.contains("watermark_ms") ? 0 : j["watermark_ms"].get<int64_t>();
}

// The report once every read is in it, so two daemons are compared at the
// same evaluation: the watermark has reached `at_least`, every partition has
// been read to its end (no consumer lag), and then nothing changed for longer
// than the daemon's monitoring.commit_interval. A report is refreshed at
// evaluations and at the commit after a read, so one taken before that
// commit misses the read's counters: CI compared a report 256 predictions
// short, taken when the watermark and the report had held still over one
// 1.5 s poll with no lag, but the commit (every 5 s) had not come yet. (An
// earlier one, 218 short under ASan, was taken before every partition had
// been read: hence the lag.)
// `commit_interval` is the daemon's: featmond's default unless its YAML set
// one (CommitIntervalYaml writes that line from the same value).
inline nlohmann::json SettledReport(
    uint16_t port, int64_t at_least,
    std::chrono::milliseconds commit_interval = std::chrono::milliseconds(MonitorPipelineOptions{}.commit_interval_ms)) {
  using Clock = std::chrono::steady_clock;
  int64_t last = -1;
  double last_lag = -1;
  nlohmann::json previous;
  std::optional<Clock::time_point> settled_since;  // all read, and unchanged since
  // A backlog may take minutes to read (the crash soak's); only a minute
  // without any change fails.
  auto changed = Clock::now();
  while (Clock::now() - changed < std::chrono::minutes(1)) {
    const int64_t w = Watermark(port);
    auto report = Http(port, "GET", "/v1/monitoring/models/ctr_ranker").json();
    const double lag = TotalConsumerLag(port);
    const bool read = w >= at_least && !report.is_discarded() && lag == 0;
    const bool same_lag = lag == last_lag || (std::isnan(lag) && std::isnan(last_lag));  // NaN: no /metrics
    if (w != last || !same_lag || report != previous) changed = Clock::now();
    if (!read || !settled_since || w != last || report != previous) {
      settled_since = read ? std::optional(Clock::now()) : std::nullopt;
    } else if (Clock::now() - *settled_since > commit_interval) {
      return previous;
    }
    last = w;
    last_lag = lag;
    previous = std::move(report);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ADD_FAILURE() << "watermark or report stopped short of settling at or above " << at_least << " for a minute (last "
                << last << ", lag " << last_lag << ")";
  return nlohmann::json();
}

}  // namespace featmon::testing
