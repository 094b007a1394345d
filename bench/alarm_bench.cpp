// Alarms people can trust (issue 14), in event time: false retrain requests
// and drift alerts on stationary and seasonal streams of at least 1M
// predictions, and how long real changes take to be flagged and to raise a
// retrain request. Drives drift::Monitor, the library featmond runs, with
// labels matured as LabelJoiner matures them (a click at its time, its
// absence when the attribution window closes), so the figures are exact and
// repeat run after run; no broker, no clock. The reference in the same run is
// the same stream judged with `reference: first_window` (round 2's default
// reference; the other settings are today's defaults).
//
//   build/bench/alarm_bench [--quick]     (scripts/dev.sh bench runs it)
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "drift/monitor.h"
#include "tools/seasonal_stream.h"

namespace featmon {
namespace {

using drift::MonitorOptions;
using tools::SeasonalStream;
using tools::StreamChange;
using tools::StreamShape;

constexpr int64_t kHourMs = 3'600'000, kDayMs = 24 * kHourMs;

struct RunResult {
  uint64_t predictions = 0;
  double days = 0;
  std::vector<drift::RetrainRequest> requests;
  int alerting_evaluations_after_day_one = 0;  // evaluations where any signal alerted
  std::map<std::string, int> alerts;           // alerting evaluations by signal/feature
  int64_t first_shift_alert_ms = -1;           // "stable_a" alerting at or after the change
  int64_t first_shift_warn_ms = -1;            // "stable_a" judged warn or drift at or after the change
  size_t state_bytes = 0;                      // the model's stored state at the end
};

RunResult Run(const StreamShape& shape, const StreamChange& change, const MonitorOptions& options) {
  drift::Monitor monitor(options, {}, 4);
  SeasonalStream stream(shape, change);
  tools::MonitorDriver driver(&monitor);
  RunResult r;
  tools::Tile tile;
  while (stream.NextTile(&tile)) {
    drift::EvaluationOutput out = driver.Feed(tile);
    bool any_alert = false;
    for (const auto& g : out.drift) {
      if (!g.alerting) continue;
      any_alert = true;
      ++r.alerts[std::string(drift::SignalName(g.signal)) + "/" + g.feature];
      if (g.feature == "stable_a" && change.kind != StreamChange::kNone && tile.end_ms >= change.at_ms &&
          r.first_shift_alert_ms < 0)
        r.first_shift_alert_ms = tile.end_ms;
    }
    if (any_alert && tile.end_ms >= shape.start_ms + kDayMs) ++r.alerting_evaluations_after_day_one;
    if (change.kind != StreamChange::kNone && tile.end_ms >= change.at_ms && r.first_shift_warn_ms < 0) {
      const nlohmann::json report = *monitor.Report("ranker");
      for (const auto& f : report["versions"]["v1"]["features"])
        if (f["feature"] == "stable_a" && (f["status"] == "warn" || f["status"] == "drift")) r.first_shift_warn_ms = tile.end_ms;
    }
    for (auto& req : out.retrain_requests) r.requests.push_back(std::move(req));
  }
  r.predictions = stream.predictions();
  r.days = static_cast<double>(shape.duration_ms) / kDayMs;
  r.state_bytes = monitor.SerializeModel("ranker").size();
  return r;
}

std::string Reasons(const drift::RetrainRequest& req) {
  std::string s;
  for (const auto& reason : req.reasons) s += (s.empty() ? "" : ",") + reason.feature;
  return s;
}

std::string ReasonCounts(const std::vector<drift::RetrainRequest>& requests) {
  std::map<std::string, int> by;
  for (const auto& req : requests)
    for (const auto& reason : req.reasons) ++by[reason.feature];
  std::string s;
  for (const auto& [name, n] : by) s += (s.empty() ? "" : " ") + name + ":" + std::to_string(n);
  return s.empty() ? "-" : s;
}

std::string Minutes(int64_t ms) {
  if (ms < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f min", static_cast<double>(ms) / 60'000.0);
  return buf;
}

struct Config {
  const char* name;
  MonitorOptions options;
};

Config WithReference(const char* name, drift::ReferenceKind kind) {
  MonitorOptions options;
  options.reference = kind;
  return {name, options};
}

std::vector<Config> Configs() {
  return {{"default", MonitorOptions{}}, WithReference("first_window", drift::ReferenceKind::kFirstWindow)};
}

}  // namespace
}  // namespace featmon

int main(int argc, char** argv) {
  using namespace featmon;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double scale = quick ? 0.1 : 1.0;  // --quick: a tenth of the traffic, same days

  struct Quiet {
    const char* name;
    StreamShape shape;
    std::vector<Config> configs = Configs();
  };
  StreamShape seasonal_a;
  seasonal_a.seed = 21;
  seasonal_a.duration_ms = 3 * kDayMs;
  seasonal_a.predictions_per_s = 6 * scale;
  StreamShape seasonal_b = seasonal_a;
  seasonal_b.seed = 22;
  seasonal_b.traffic_amplitude = 0.3;
  seasonal_b.feature_amplitude = 1.5;
  seasonal_b.device_amplitude = 0.25;
  seasonal_b.ctr_low = 0.01;
  seasonal_b.ctr_high = 0.05;
  StreamShape seasonal_c = seasonal_a;  // the week-long check of same_hour_last_week
  seasonal_c.seed = 23;
  seasonal_c.duration_ms = 8 * kDayMs + 12 * kHourMs;
  seasonal_c.predictions_per_s = 2 * scale;
  seasonal_c.traffic_amplitude = 0.4;
  seasonal_c.ctr_high = 0.10;
  const std::vector<Quiet> quiet = {
      {"stationary (CTR 0.05)", tools::Stationary(11, 0.05, 30 * kHourMs, 10 * scale)},
      {"seasonal A (traffic 50%, CTR 0.02-0.08)", seasonal_a},
      {"seasonal B (traffic 30%, CTR 0.01-0.05)", seasonal_b},
      {"seasonal C (8.5 days, CTR 0.02-0.10)", seasonal_c,
       {{"default", MonitorOptions{}}, WithReference("same_hour_week", drift::ReferenceKind::kSameHourLastWeek)}},
  };

  std::printf("== false alarms: streams with no change (every retrain request and alert is false)\n");
  std::printf("%-42s %-13s %11s %5s %9s %8s %8s %16s %9s  %s\n", "stream", "config", "predictions", "days",
              "requests", "per 1M", "per day", "alerting evals*", "state KB", "request reasons");
  for (const auto& q : quiet) {
    for (const auto& c : q.configs) {
      std::fprintf(stderr, "   running %s with %s ...\n", q.name, c.name);
      const RunResult r = Run(q.shape, {}, c.options);
      const double n = static_cast<double>(r.requests.size());
      std::printf("%-42s %-13s %11llu %5.1f %9zu %8.2f %8.2f %16d %9.0f  %s\n", q.name, c.name,
                  static_cast<unsigned long long>(r.predictions), r.days, r.requests.size(),
                  n / (static_cast<double>(r.predictions) / 1e6), n / r.days, r.alerting_evaluations_after_day_one,
                  static_cast<double>(r.state_bytes) / 1024.0, ReasonCounts(r.requests).c_str());
    }
  }
  std::printf("* evaluations after the first day in which any signal alerted\n\n");

  struct Scenario {
    const char* name;
    StreamChange change;
  };
  StreamShape before = seasonal_a;  // two days of history, the change at 13:00 on the third
  before.seed = 31;
  before.duration_ms = 2 * kDayMs + 17 * kHourMs;
  const int64_t at = before.start_ms + 2 * kDayMs + 13 * kHourMs;
  const std::vector<Scenario> scenarios = {
      {"feature shift, PSI 0.10", {StreamChange::kFeatureShift, at, tools::ShiftForPsi(0.10), 1}},
      {"feature shift, PSI 0.25", {StreamChange::kFeatureShift, at, tools::ShiftForPsi(0.25), 1}},
      {"feature shift, PSI 0.50", {StreamChange::kFeatureShift, at, tools::ShiftForPsi(0.50), 1}},
      {"calibration break (clicks x1.5)", {StreamChange::kUnderPrediction, at, 0, 1.5}},
      {"shift 0.6 sd + clicks x1.3", {StreamChange::kBoth, at, 0.6, 1.3}},
  };
  std::printf("== detection: %s, a change at 13:00 on day 3 (event time)\n", "seasonal A's shape");
  std::printf("%-34s %-13s %7s %12s %22s %22s %16s  %s\n", "change", "config", "shift", "warn after",
              "flagged as drift after", "retrain request after", "false before it", "first request's reasons");
  for (const auto& s : scenarios) {
    for (const auto& c : Configs()) {
      std::fprintf(stderr, "   running %s with %s ...\n", s.name, c.name);
      const RunResult r = Run(before, s.change, c.options);
      int64_t request_delay = -1;
      int false_before = 0;
      std::string reasons = "-";
      for (const auto& req : r.requests) {
        if (req.event_time_ms < at) {
          ++false_before;
        } else if (request_delay < 0) {
          request_delay = req.event_time_ms - at;
          reasons = Reasons(req);
        }
      }
      std::printf("%-34s %-13s %5.2fsd %12s %22s %22s %16d  %s\n", s.name, c.name, s.change.shift_sd,
                  Minutes(r.first_shift_warn_ms < 0 ? -1 : r.first_shift_warn_ms - at).c_str(),
                  Minutes(r.first_shift_alert_ms < 0 ? -1 : r.first_shift_alert_ms - at).c_str(),
                  Minutes(request_delay).c_str(), false_before, reasons.c_str());
    }
  }

  // What a model's stored state (written whole at each monitoring commit)
  // weighs as history grows, by reference.
  std::printf("\n== stored state of one model (4 features, score, labels) as days pass, seasonal A's shape at 2/s\n");
  std::printf("%-22s %10s %10s %10s %10s\n", "reference", "day 1 KB", "day 2 KB", "day 8 KB", "day 9 KB");
  for (auto kind : {drift::ReferenceKind::kSeasonal, drift::ReferenceKind::kFirstWindow,
                    drift::ReferenceKind::kPreviousWindow, drift::ReferenceKind::kSameHourLastWeek}) {
    MonitorOptions options;
    options.reference = kind;
    std::fprintf(stderr, "   running nine days with %s ...\n", drift::ReferenceKindName(kind));
    drift::Monitor monitor(options, {}, 4);
    StreamShape shape = seasonal_a;
    shape.duration_ms = 9 * kDayMs;
    shape.predictions_per_s = 2 * scale;
    SeasonalStream stream(shape);
    tools::MonitorDriver driver(&monitor);
    tools::Tile tile;
    std::vector<double> kb;
    while (stream.NextTile(&tile)) {
      (void)driver.Feed(tile);
      if ((tile.end_ms - shape.start_ms) % kDayMs == 0)
        kb.push_back(static_cast<double>(monitor.SerializeModel("ranker").size()) / 1024.0);
    }
    std::printf("%-22s %10.0f %10.0f %10.0f %10.0f\n", drift::ReferenceKindName(kind), kb[0], kb[1], kb[7], kb[8]);
  }
  return 0;
}
