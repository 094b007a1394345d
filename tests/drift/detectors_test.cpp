// Each detector on synthetic per-prediction loss streams: false alarms per
// million stationary samples, and detection delay after a known change
// point. The figures are printed (the README quotes them) and bounded.
#include "drift/detectors.h"

#include <cmath>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

// Log loss of a model that predicts `score` for a click that happens with
// probability `ctr`: calibrated while ctr == score.
struct LossStream {
  explicit LossStream(uint64_t seed) : rng(seed) {}
  double Next(double score, double ctr) {
    bool click = std::bernoulli_distribution(ctr)(rng);
    return click ? -std::log(score) : -std::log(1 - score);
  }
  std::mt19937_64 rng;
};

// Detectors see the loss as featmond feeds them: ADWIN and Page-Hinkley the
// loss itself, DDM the loss clipped to [0, 1].
template <typename Detector>
DetectorState Feed(Detector& d, double loss) {
  if constexpr (std::is_same_v<Detector, Ddm>) return d.Update(std::min(loss, 1.0));
  return d.Update(loss);
}

template <typename Detector>
struct Figures {
  double false_alarms_per_million = 0;
  double mean_delay = 0;
  int missed = 0;
};

template <typename Detector, typename Options>
Figures<Detector> Measure(Options options, const char* name) {
  Figures<Detector> f;
  // Stationary: 1M calibrated predictions at CTR 0.05.
  {
    Detector d(options);
    LossStream s(7);
    uint64_t alarms = 0;
    for (int i = 0; i < 1'000'000; ++i)
      if (Feed(d, s.Next(0.05, 0.05)) == DetectorState::kDrift) ++alarms;
    f.false_alarms_per_million = static_cast<double>(alarms);
  }
  // Change: after 20k calibrated predictions, the true CTR doubles while the
  // model keeps predicting 0.05 (calibration 0.5). 20 trials.
  double delay_sum = 0;
  int detected = 0;
  for (int trial = 0; trial < 20; ++trial) {
    Detector d(options);
    LossStream s(100 + trial);
    for (int i = 0; i < 20'000; ++i) (void)Feed(d, s.Next(0.05, 0.05));
    int delay = -1;
    for (int i = 0; i < 200'000 && delay < 0; ++i)
      if (Feed(d, s.Next(0.05, 0.10)) == DetectorState::kDrift) delay = i + 1;
    if (delay < 0) {
      ++f.missed;
    } else {
      delay_sum += delay;
      ++detected;
    }
  }
  f.mean_delay = detected ? delay_sum / detected : -1;
  std::printf("%-13s false alarms per 1M stationary: %6.0f   mean delay after change: %8.0f samples   missed: %d/20\n",
              name, f.false_alarms_per_million, f.mean_delay, f.missed);
  return f;
}

TEST(Detectors, Adwin) {
  auto f = Measure<Adwin>(AdwinOptions{}, "ADWIN");
  EXPECT_LE(f.false_alarms_per_million, 20);
  EXPECT_EQ(f.missed, 0);
  EXPECT_LT(f.mean_delay, 20'000);
}

TEST(Detectors, Ddm) {
  // DDM compares against the best rate since its last reset, so a change
  // after a long calm stretch takes long to show: some trials miss the
  // 200k-sample horizon. That is DDM, not a defect; featmond reports it but
  // does not retrain on it by default.
  auto f = Measure<Ddm>(DdmOptions{}, "DDM");
  EXPECT_LE(f.false_alarms_per_million, 20);
  EXPECT_LE(f.missed, 8);
  EXPECT_LT(f.mean_delay, 100'000);
}

TEST(Detectors, PageHinkley) {
  // With river's defaults Page-Hinkley is quick but raises tens of false
  // alarms per million calibrated click predictions (each click costs a loss
  // of 3 against a mean of 0.2): reported, not a retraining trigger by default.
  auto f = Measure<PageHinkley>(PageHinkleyOptions{}, "Page-Hinkley");
  EXPECT_LE(f.false_alarms_per_million, 200);
  EXPECT_EQ(f.missed, 0);
  EXPECT_LT(f.mean_delay, 20'000);
}

TEST(Detectors, AdwinFindsAStepInItsMeanAndShrinksItsWindow) {
  Adwin a;
  for (int i = 0; i < 5000; ++i) (void)a.Update(i % 10 == 0 ? 1.0 : 0.0);
  EXPECT_NEAR(a.mean(), 0.1, 0.01);
  bool drift = false;
  for (int i = 0; i < 3000 && !drift; ++i) drift = a.Update(i % 2 == 0 ? 1.0 : 0.0) == DetectorState::kDrift;
  EXPECT_TRUE(drift);
  EXPECT_LT(a.width(), 5000);
}

TEST(Detectors, StateSurvivesSerialisation) {
  Adwin a;
  Ddm d;
  PageHinkley p;
  LossStream s(1);
  for (int i = 0; i < 10000; ++i) {
    double x = s.Next(0.05, 0.05);
    (void)a.Update(x);
    (void)d.Update(std::min(x, 1.0));
    (void)p.Update(x);
  }
  Adwin a2;
  Ddm d2;
  PageHinkley p2;
  ASSERT_TRUE(a2.Deserialize(a.Serialize()).ok());
  ASSERT_TRUE(d2.Deserialize(d.Serialize()).ok());
  ASSERT_TRUE(p2.Deserialize(p.Serialize()).ok());
  // Both copies then see the same drifted stream and agree step by step.
  LossStream s1(2), s2(2);
  for (int i = 0; i < 50000; ++i) {
    double x1 = s1.Next(0.05, 0.2), x2 = s2.Next(0.05, 0.2);
    ASSERT_EQ(a.Update(x1), a2.Update(x2)) << i;
    ASSERT_EQ(d.Update(std::min(x1, 1.0)), d2.Update(std::min(x2, 1.0))) << i;
    ASSERT_EQ(p.Update(x1), p2.Update(x2)) << i;
  }
  EXPECT_FALSE(Adwin().Deserialize("\x05garbage").ok());
}

}  // namespace
}  // namespace featmon::drift

namespace featmon::drift {
namespace {

// One label as its own batch.
DetectorState UpdateLabel(CalibrationCusum& cusum, double score, bool clicked) {
  double up_base = 0, down_base = 0;
  cusum.AddLabelBase(score, &up_base, &down_base);
  return cusum.Update(clicked ? 1 : 0, up_base, down_base);
}

// A calibrated model whose base CTR swings through the day (scores from
// 0.005 to 0.3): the calibration CUSUM judges each click against its own
// score, so 3M labels raise no alarm; when the true click odds become 1.5x
// (or 1/1.5x) the scores', it fires within a few thousand labels.
TEST(CalibrationCusumTest, SeasonalCtrIsNoChangeAndMiscalibrationIsCaughtFast) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  auto score_at = [&](int64_t i) {
    const double base = 0.02 + 0.03 * (1 + std::sin(static_cast<double>(i) / 20'000.0));  // a "day" of ~125k labels
    return 1 / (1 + std::exp(-(std::log(base / (1 - base)) + 0.8 * normal(rng))));
  };
  auto odds_times = [](double s, double r) { return r * s / (1 - s + r * s); };
  CalibrationCusum calibrated;
  for (int64_t i = 0; i < 3'000'000; ++i) {
    const double s = score_at(i);
    ASSERT_NE(UpdateLabel(calibrated, s, std::bernoulli_distribution(s)(rng)), DetectorState::kDrift) << "label " << i;
  }
  for (double r : {1.5, 1 / 1.5, 2.0}) {
    CalibrationCusum cusum;
    int64_t delay = -1;
    for (int64_t i = 0; i < 100'000 && delay < 0; ++i) {
      const double s = score_at(i);
      if (UpdateLabel(cusum, s, std::bernoulli_distribution(odds_times(s, r))(rng)) == DetectorState::kDrift) delay = i;
    }
    std::printf("calibration cusum: odds x%.2f caught after %lld labels\n", r, static_cast<long long>(delay));
    EXPECT_GE(delay, 0) << "odds x" << r;
    EXPECT_LT(delay, 20'000) << "odds x" << r;
  }
  CalibrationCusum restored;
  ASSERT_TRUE(restored.Deserialize(calibrated.Serialize()).ok());
  EXPECT_EQ(restored.under_prediction(), calibrated.under_prediction());
  EXPECT_FALSE(restored.Deserialize("x").ok());
}

}  // namespace
}  // namespace featmon::drift
