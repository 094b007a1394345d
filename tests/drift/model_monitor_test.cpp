// The monitor on simulated traffic: one prediction per second of event time,
// labels from clicks through the LabelJoiner. A stationary stream raises no
// retrain request; a shifted feature, a shifted score distribution and a
// degraded calibration each raise one within 30 minutes of the change; and
// saving and restoring the state midway changes nothing.
#include "drift/monitor.h"

#include <cmath>
#include <map>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "drift/label_joiner.h"

namespace featmon::drift {
namespace {

constexpr int64_t kHour = 3'600'000, kMinute = 60'000;

enum class Change { kNone, kFeatureShift, kCategoryReshuffle, kScoreShift, kCalibration };

// These streams have no daily cycle and last hours: judged against their
// first window (the default seasonal reference needs a day; see
// model_monitor_seasonal_test).
MonitorOptions FirstWindow() {
  MonitorOptions o;
  o.reference = ReferenceKind::kFirstWindow;
  return o;
}

struct Simulation {
  explicit Simulation(Change change, int64_t change_at_ms, uint64_t seed = 1, MonitorOptions options = FirstWindow())
      : change(change), change_at(change_at_ms), rng(seed),
        monitor(std::make_unique<Monitor>(options, std::map<std::string, MonitorOptions>{}, 16)),
        joiner(options.attribution_window_ms, 10'000'000) {}

  // Runs [from, to) of event time; returns every retrain request.
  std::vector<RetrainRequest> Run(int64_t from_ms, int64_t to_ms) {
    std::vector<RetrainRequest> requests;
    for (int64_t t = from_ms; t < to_ms; t += 1000) {
      bool changed = change != Change::kNone && t >= change_at;
      Prediction p;
      p.model = "ctr_ranker";
      p.model_version = "v1";
      p.ts_ms = t;
      p.sample_hash = std::hash<int64_t>()(t) * 0x9E3779B97F4A7C15ULL;
      double x = std::normal_distribution<double>(0, 1)(rng);
      if (changed && change == Change::kFeatureShift) x += shift;
      p.features = {{"x", x}, {"noise", std::uniform_real_distribution<double>(0, 1)(rng)}};
      int cat = std::discrete_distribution<int>({50, 25, 12, 8, 5})(rng);
      if (changed && change == Change::kCategoryReshuffle) cat = 4 - cat;
      p.cat_features = {{"device", "d" + std::to_string(cat)}};
      double logit = -3.0 + 0.8 * x;
      double true_ctr = 1 / (1 + std::exp(-logit));
      double score = true_ctr;
      if (changed && change == Change::kScoreShift) score = std::min(0.99, score * (1 + shift));
      if (changed && change == Change::kCalibration) true_ctr = std::min(0.99, true_ctr * 2.0);  // model now under-predicts
      p.score = score;
      monitor->Observe(p);
      std::string key = JoinKeyByRequest("req" + std::to_string(t), "item");
      (void)joiner.AddPrediction(key, {p.model, p.model_version, p.score, p.ts_ms});
      if (std::bernoulli_distribution(true_ctr)(rng)) {
        int64_t click_ts = t + std::uniform_int_distribution<int64_t>(1000, 10 * kMinute)(rng);
        clicks.emplace(click_ts, key);
      }
      while (!clicks.empty() && clicks.begin()->first <= t) {
        auto [ct, ck] = *clicks.begin();
        clicks.erase(clicks.begin());
        if (auto matched = joiner.AddClick({ck}, ct)) monitor->OnClickAttributed(matched->model, matched->model_version, ct);
      }
      if (t % 10'000 == 0) {
        for (const auto& label : joiner.Advance(t)) monitor->OnLabel(label);
        auto out = monitor->AdvanceWatermark(t);
        for (auto& r : out.retrain_requests) requests.push_back(r);
      }
    }
    return requests;
  }

  Change change;
  int64_t change_at;
  double shift = 3.0;  // feature: in standard deviations; score: x (1 + shift)
  std::mt19937_64 rng;
  std::unique_ptr<Monitor> monitor;
  LabelJoiner joiner;
  std::multimap<int64_t, std::string> clicks;
};

constexpr int64_t kStart = 1'700'000'000'000 / kHour * kHour;

TEST(ModelMonitor, StationaryStreamRaisesNoRetrainRequest) {
  Simulation sim(Change::kNone, 0);
  auto requests = sim.Run(kStart, kStart + 8 * kHour);
  EXPECT_TRUE(requests.empty()) << nlohmann::json(ToJson(requests.front())).dump();
  auto report = sim.monitor->Report("ctr_ranker");
  ASSERT_TRUE(report.has_value());
  const auto& v = (*report)["versions"]["v1"];
  EXPECT_TRUE(v["reference_frozen"].get<bool>());
  ASSERT_EQ(v["features"].size(), 3u);
  for (const auto& f : v["features"]) EXPECT_EQ(f["status"], "ok") << f.dump();
  EXPECT_EQ(v["prediction_drift"]["status"], "ok");
  EXPECT_GT(v["performance"]["matured_labels"].get<double>(), 1000);
  double calibration = v["performance"]["calibration_ratio"].get<double>();
  EXPECT_GT(calibration, 0.8);
  EXPECT_LT(calibration, 1.25);
  EXPECT_GT(v["performance"]["auc"].get<double>(), 0.6);
}

struct ChangeCase {
  Change change;
  std::string signal, feature;
  // Calibration is judged on labels all of which matured: the attribution
  // window (30 minutes), then the evidence of a few tiles.
  int64_t within_minutes = 30;
};

class ModelMonitorChange : public ::testing::TestWithParam<ChangeCase> {};

TEST_P(ModelMonitorChange, RaisesARetrainRequestInTime) {
  const int64_t change_at = kStart + 3 * kHour + 7 * kMinute;
  Simulation sim(GetParam().change, change_at);
  auto requests = sim.Run(kStart, change_at + 90 * kMinute);
  ASSERT_FALSE(requests.empty());
  const RetrainRequest& r = requests.front();
  EXPECT_GE(r.event_time_ms, change_at);
  EXPECT_LE(r.event_time_ms, change_at + GetParam().within_minutes * kMinute)
      << (r.event_time_ms - change_at) / kMinute << " min";
  bool found = false;
  for (const auto& reason : r.reasons)
    found |= SignalName(reason.signal) == GetParam().signal && reason.feature == GetParam().feature;
  EXPECT_TRUE(found) << nlohmann::json(ToJson(r)).dump();
  // Cooldown: each reason asks once, not once per evaluation (a second
  // reason, such as the score moving with the feature, may ask on its own).
  std::map<std::string, int> asked;
  for (const auto& request : requests)
    for (const auto& reason : request.reasons) EXPECT_EQ(++asked[RetrainReasonKey(reason)], 1) << RetrainReasonKey(reason);
  std::printf("%s/%s detected %lld min after the change\n", GetParam().signal.c_str(), GetParam().feature.c_str(),
              static_cast<long long>((r.event_time_ms - change_at) / kMinute));
}

INSTANTIATE_TEST_SUITE_P(Changes, ModelMonitorChange,
                         ::testing::Values(ChangeCase{Change::kFeatureShift, "data", "x"},
                                           ChangeCase{Change::kCategoryReshuffle, "data", "device"},
                                           ChangeCase{Change::kScoreShift, "prediction", "score"},
                                           ChangeCase{Change::kCalibration, "performance", "calibration_cusum", 60}));

// Detection delay as a function of the size of a feature shift, with the
// default rules (1h window and its last 15m, 5m evaluations, 3 in a row, PSI >= 0.2).
TEST(ModelMonitor, DelayByShiftSize) {
  for (double shift : {1.0, 1.5, 2.0, 3.0}) {
    const int64_t change_at = kStart + 3 * kHour;
    Simulation sim(Change::kFeatureShift, change_at);
    sim.shift = shift;
    sim.monitor = std::make_unique<Monitor>(FirstWindow(), std::map<std::string, MonitorOptions>{}, 16);
    auto requests = sim.Run(kStart, change_at + 2 * kHour);
    int64_t delay = -1;
    for (const auto& r : requests)
      for (const auto& reason : r.reasons)
        if (reason.feature == "x" && delay < 0) delay = (r.event_time_ms - change_at) / kMinute;
    std::printf("feature shift of %.1f std: data drift on x after %lld min\n", shift, static_cast<long long>(delay));
    EXPECT_GE(delay, 0);
  }
}

TEST(ModelMonitor, SaveAndRestoreMidwayChangesNothing) {
  const int64_t change_at = kStart + 3 * kHour;
  Simulation straight(Change::kFeatureShift, change_at, 5), restarted(Change::kFeatureShift, change_at, 5);
  auto expected = straight.Run(kStart, kStart + 5 * kHour);

  auto first = restarted.Run(kStart, kStart + 3 * kHour + 10 * kMinute);
  // Round-trip every model and every pending label through bytes.
  auto restored = std::make_unique<Monitor>(FirstWindow(), std::map<std::string, MonitorOptions>{}, 16);
  for (const auto& m : restarted.monitor->Models()) ASSERT_TRUE(restored->RestoreModel(m, restarted.monitor->SerializeModel(m)).ok());
  LabelJoiner joiner(FirstWindow().attribution_window_ms, 10'000'000);
  (void)restarted.joiner.TakeDirty();
  // Encode every stored key by marking all as dirty through a fresh pass.
  std::vector<std::pair<std::string, std::string>> stored;
  {
    // The simulation's joiner holds its entries; walk them through Encode.
    LabelJoiner& j = restarted.joiner;
    for (int64_t t = kStart; t < kStart + 3 * kHour + 10 * kMinute; t += 1000) {
      std::string key = "p" + JoinKeyByRequest("req" + std::to_string(t), "item");
      if (auto v = j.Encode(key)) stored.emplace_back(key, *v);
    }
  }
  for (auto& [k, v] : stored) ASSERT_TRUE(joiner.Restore(k, v).ok());
  ASSERT_EQ(joiner.pending(), restarted.joiner.pending());
  std::swap(restarted.joiner, joiner);
  std::swap(restarted.monitor, restored);
  auto second = restarted.Run(kStart + 3 * kHour + 10 * kMinute, kStart + 5 * kHour);
  first.insert(first.end(), second.begin(), second.end());

  ASSERT_EQ(first.size(), expected.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(ToJson(first[i]).dump(), ToJson(expected[i]).dump());
  EXPECT_EQ(restarted.monitor->ReportAll().dump(2), straight.monitor->ReportAll().dump(2));
}

TEST(ModelMonitor, PreviousWindowReference) {
  MonitorOptions o;
  o.reference = ReferenceKind::kPreviousWindow;
  o.retrain_detectors.clear();  // the data rule alone, against the previous hour
  const int64_t change_at = kStart + 4 * kHour + 2 * kMinute;
  Simulation stationary(Change::kNone, 0, 3, o);
  EXPECT_TRUE(stationary.Run(kStart, kStart + 6 * kHour).empty());
  Simulation shifted(Change::kFeatureShift, change_at, 3, o);
  auto requests = shifted.Run(kStart, change_at + kHour);
  ASSERT_FALSE(requests.empty());
  bool data_drift = false;
  for (const auto& r : requests.front().reasons) data_drift |= r.signal == Signal::kData && r.feature == "x";
  EXPECT_TRUE(data_drift) << nlohmann::json(ToJson(requests.front())).dump();
  EXPECT_GT(requests.front().event_time_ms, change_at);
  EXPECT_LE(requests.front().event_time_ms, change_at + 30 * kMinute);
  // The reference window is the hour before the current one.
  EXPECT_EQ(requests.front().reference_end_ms, requests.front().current_start_ms);
  EXPECT_EQ(requests.front().reference_end_ms - requests.front().reference_start_ms, kHour);
  // Fresh data: everything since the version's first window, up to the evaluation.
  EXPECT_EQ(requests.front().fresh_data_start_ms, kStart);
  EXPECT_EQ(requests.front().fresh_data_end_ms, requests.front().event_time_ms);
}

TEST(ModelMonitor, SameHourLastWeekReferenceWaitsForAWeekOfHistory) {
  MonitorOptions o;
  o.reference = ReferenceKind::kSameHourLastWeek;
  o.retrain_on_calibration = false;  // only the drift rules, whose reference is missing
  o.retrain_detectors.clear();
  Simulation sim(Change::kFeatureShift, kStart + 3 * kHour, 3, o);
  EXPECT_TRUE(sim.Run(kStart, kStart + 5 * kHour).empty());  // no history a week back: no verdict
  const nlohmann::json report = *sim.monitor->Report("ctr_ranker");
  int seen = 0;
  for (const auto& f : report["versions"]["v1"]["features"]) {
    ++seen;
    EXPECT_EQ(f["status"], "no_verdict") << f.dump();
    EXPECT_EQ(f["reference_samples"], 0) << f.dump();  // bins frozen, nothing a week back
  }
  EXPECT_EQ(seen, 3);
}

TEST(ModelMonitor, ProfileReference) {
  // A training profile of x ~ N(0, 1): deciles of the standard normal.
  const std::vector<double> edges = {-4, -1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816, 4};
  nlohmann::json profile = {{"features",
                             {{"x", {{"edges", edges}, {"counts", {0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 0}}, {"mean", 0.0}, {"std", 1.0}}},
                              {"device", {{"categories", {"d0", "d1", "d2", "d3", "d4"}}, {"counts", {500, 250, 120, 80, 50, 0}}}}}}};
  MonitorOptions o;
  o.reference = ReferenceKind::kProfile;
  o.profile = profile;
  o.retrain_on_calibration = false;
  o.retrain_detectors.clear();
  Simulation stationary(Change::kNone, 0, 4, o);
  EXPECT_TRUE(stationary.Run(kStart, kStart + 3 * kHour).empty());
  const nlohmann::json full = *stationary.monitor->Report("ctr_ranker");
  const auto& report = full["versions"]["v1"];
  bool saw_x = false;
  for (const auto& f : report["features"]) {
    if (f["feature"] == "x") {
      saw_x = true;
      EXPECT_EQ(f["status"], "ok") << f.dump();
      EXPECT_EQ(f["reference_samples"], 10000);
    }
    if (f["feature"] == "noise") {
      EXPECT_EQ(f["status"], "no_verdict");  // not in the profile
    }
  }
  EXPECT_TRUE(saw_x);
  Simulation shifted(Change::kFeatureShift, kStart + 2 * kHour, 4, o);
  auto requests = shifted.Run(kStart, kStart + 3 * kHour);
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().reasons.front().feature, "x");
}

// The calibration ratio leaves [0.8, 1.25] by chance at a trough hour with a
// few dozen clicks (issue 14: 1.26 with about 70 clicks); it is a break only
// when the clicks also differ from the sum of scores by calibration_z sd.
TEST(ModelMonitor, CalibrationNeedsMoreThanChance) {
  for (int scale : {1, 10}) {
    Monitor m(MonitorOptions{}, {}, 4);
    const int predictions = 1400 * scale, clicks = 70 * scale;
    const double score = 1.26 * clicks / predictions;  // the scores' sum is 1.26x the clicks
    for (int i = 0; i < predictions; ++i) {
      const int64_t ts = kStart + i * (5 * kMinute / predictions);
      ASSERT_TRUE(m.Observe({"m", "v1", score, ts, static_cast<uint64_t>(i), {}, {}}));
      ASSERT_TRUE(m.OnLabel({"m", "v1", score, i < clicks, ts}));
    }
    (void)m.AdvanceWatermark(kStart + 35 * kMinute);  // the first tile's labels matured
    const auto performance = (*m.Report("m"))["versions"]["v1"]["performance"];
    EXPECT_NEAR(performance["calibration_ratio"].get<double>(), 1.26, 1e-9);
    // z = (sum - clicks) / sqrt(sum): 1.9 with 70 clicks, 6.1 with 700.
    EXPECT_EQ(performance["calibration_status"], scale == 1 ? "ok" : "drift") << clicks << " clicks";
  }
}

// Restored detectors run with the configured options, not the defaults.
TEST(ModelMonitor, RestoredDetectorsKeepTheirOptions) {
  MonitorOptions o;
  o.page_hinkley.threshold = 0.5;  // fires at once on a rising excess loss
  o.page_hinkley.min_instances = 1;
  Monitor m(o, {}, 4);
  ASSERT_TRUE(m.Observe({"m", "v1", 0.01, kStart, 1, {}, {}}));
  Monitor restored(o, {}, 4);
  ASSERT_TRUE(restored.RestoreModel("m", m.SerializeModel("m")).ok());
  // Clicks on ever lower scores: the excess log loss rises by about 4.
  for (double score : {0.3, 0.01}) ASSERT_TRUE(restored.OnLabel({"m", "v1", score, true, kStart}));
  EXPECT_GE((*restored.Report("m"))["versions"]["v1"]["detectors"]["page_hinkley"]["drifts"].get<int>(), 1);
}

TEST(ModelMonitor, VersionsThatGoQuietAreRemoved) {
  MonitorOptions o;
  o.version_ttl_ms = kHour;
  Monitor m(o, {}, 4);
  Prediction p{"m", "v1", 0.1, kStart, 1, {{"f", 1}}, {}};
  ASSERT_TRUE(m.Observe(p));
  p.model_version = "v2";
  p.ts_ms = kStart + 90 * kMinute;
  ASSERT_TRUE(m.Observe(p));
  auto out = m.AdvanceWatermark(kStart + 90 * kMinute);
  ASSERT_EQ(out.removed_versions.size(), 1u);
  EXPECT_EQ(out.removed_versions[0], (std::pair<std::string, std::string>("m", "v1")));
  EXPECT_FALSE((*m.Report("m"))["versions"].contains("v1"));
  EXPECT_TRUE((*m.Report("m"))["versions"].contains("v2"));
}

TEST(ModelMonitor, CorruptStateIsAnErrorNotACrash) {
  Monitor m(MonitorOptions{}, {}, 4);
  EXPECT_FALSE(m.RestoreModel("x", "garbage").ok());
  EXPECT_FALSE(m.RestoreModel("x", std::string("\x81\xa6" "format\x07", 9)).ok());
}

TEST(ModelMonitor, BoundsModelsAndFeatures) {
  MonitorOptions o;
  o.max_features = 2;
  Monitor m(o, {}, 1);
  Prediction p{"a", "v", 0.1, kStart, 1, {{"f1", 1}, {"f2", 2}, {"f3", 3}}, {}};
  EXPECT_TRUE(m.Observe(p));
  p.model = "b";
  EXPECT_FALSE(m.Observe(p));
  EXPECT_EQ(m.dropped_models(), 1u);
  EXPECT_EQ((*m.Report("a"))["versions"]["v"]["dropped_features"], 1);
}


// What the pages draw: each track's two histograms on the bins its statistic
// used, and every evaluation's values, verdicts, performance and retrain
// request over event time.
TEST(ModelMonitor, ReportCarriesHistogramsAndTheHistoryOfEvaluations) {
  const int64_t change_at = kStart + 3 * kHour + 7 * kMinute;
  Simulation sim(Change::kFeatureShift, change_at);
  const auto requests = sim.Run(kStart, change_at + 90 * kMinute);
  ASSERT_FALSE(requests.empty());
  const nlohmann::json report = *sim.monitor->Report("ctr_ranker");
  const auto& v = report["versions"]["v1"];

  auto sum = [](const nlohmann::json& a) {
    double s = 0;
    for (const auto& x : a) s += x.get<double>();
    return s;
  };
  auto mean_bin = [](const nlohmann::json& a) {
    double s = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(i) * a[i].get<double>(), n += a[i].get<double>();
    return s / n;
  };
  bool saw_x = false, saw_device = false;
  for (const auto& f : v["features"]) {
    const auto& h = f["histogram"];
    ASSERT_TRUE(h.is_object()) << f.dump();
    EXPECT_EQ(h["reference"].size(), f["bins"].get<size_t>());
    EXPECT_EQ(h["current"].size(), f["bins"].get<size_t>());
    EXPECT_DOUBLE_EQ(sum(h["reference"]), f["reference_samples"].get<double>());
    EXPECT_DOUBLE_EQ(sum(h["current"]), f["current_samples"].get<double>());
    if (f["feature"] == "x") {
      saw_x = true;
      EXPECT_EQ(h["edges"].size() + 1, f["bins"].get<size_t>());
      // Shifted up by 3 standard deviations: the current mass sits in the top bins.
      EXPECT_GT(mean_bin(h["current"]), mean_bin(h["reference"]) + 3) << h.dump();
    }
    if (f["feature"] == "device") {
      saw_device = true;
      EXPECT_EQ(h["categories"].size(), f["bins"].get<size_t>());
      EXPECT_EQ(h["categories"].back(), "(other)");
    }
  }
  EXPECT_TRUE(saw_x && saw_device);

  const auto& history = report["history"]["v1"];
  const auto& at = history["evaluated_at_ms"];
  ASSERT_GT(at.size(), 40u);
  for (size_t i = 1; i < at.size(); ++i) EXPECT_EQ(at[i].get<int64_t>() - at[i - 1].get<int64_t>(), 5 * kMinute);
  EXPECT_EQ(at.back(), v["windows"]["evaluated_at_ms"]);
  EXPECT_EQ(history["performance"]["auc"].size(), at.size());
  bool x_drifted_after_only = false;
  for (const auto& t : history["tracks"]) {
    ASSERT_EQ(t["values"].size(), at.size());
    ASSERT_EQ(t["statuses"].size(), at.size());
    if (t["feature"] != "x") continue;
    x_drifted_after_only = true;
    for (size_t i = 0; i < at.size(); ++i) {
      if (at[i].get<int64_t>() <= change_at) {
        EXPECT_NE(t["statuses"][i], "drift") << i;
      }
      if (at[i].get<int64_t>() >= change_at + 30 * kMinute) {
        EXPECT_EQ(t["statuses"][i], "drift") << i;
      }
    }
    for (const auto& f : v["features"]) {  // the newest entry is the last evaluation
      if (f["feature"] == "x") {
        EXPECT_EQ(t["statuses"].back(), f["status"]);
      }
    }
  }
  EXPECT_TRUE(x_drifted_after_only);
  ASSERT_FALSE(history["retrain_requests"].empty());
  EXPECT_EQ(history["retrain_requests"][0]["evaluated_at_ms"], requests.front().event_time_ms);
  EXPECT_NE(history["retrain_requests"][0]["reasons"].dump().find("data/x"), std::string::npos)
      << history["retrain_requests"].dump();
}

TEST(ModelMonitor, HistoryKeepsTheLastEvaluationsOnly) {
  MonitorOptions options = FirstWindow();
  options.evaluation_period_ms = kMinute;
  Simulation sim(Change::kNone, 0, 1, options);
  (void)sim.Run(kStart, kStart + 10 * kHour);
  const nlohmann::json report = *sim.monitor->Report("ctr_ranker");
  const auto& at = report["history"]["v1"]["evaluated_at_ms"];
  ASSERT_EQ(at.size(), kHistoryEvaluations);
  EXPECT_EQ(at.back(), report["versions"]["v1"]["windows"]["evaluated_at_ms"]);
  EXPECT_EQ(at.back().get<int64_t>() - at.front().get<int64_t>(),
            static_cast<int64_t>(kHistoryEvaluations - 1) * kMinute);
}

}  // namespace
}  // namespace featmon::drift
