// Model monitoring as users run it: featmon-broker and featmond in their own
// processes, featmon-gen's traffic generator writing five hours of event time
// (views, clicks and one prediction per view) with the default monitoring
// config but for `reference: first_window` (the generated traffic has no daily
// cycle, and the default seasonal reference needs a day of it: bench/alarm_bench
// and model_monitor_seasonal_test judge that), a webhook receiver in the test.
// Checks:
//   - a stationary stream raises no retrain request, also when its clicks are
//     written after its predictions, and every click labels its prediction;
//   - a shifted feature, a reshuffled categorical feature, a shifted score
//     distribution and a degraded calibration each raise one retrain request
//     on the featmon.retrain topic and on the webhook within 30 minutes of
//     event time after the change;
//   - SIGKILL and restart in the middle of the stream change none of that.
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "daemon/http/http_server.h"
#include "featmon/v1/events.pb.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/monitoring_check.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace featmon::testing {
namespace {

constexpr int64_t kHour = 3'600'000, kMinute = 60'000;
constexpr int64_t kStepMs = 500;  // event time between generated events

struct WebhookReceiver {
  WebhookReceiver() {
    HttpServerOptions options;
    options.port = 0;
    auto s = HttpServer::Start(options, [this](const HttpRequest& r) -> HttpResponse {
      std::lock_guard lock(mu);
      bodies.push_back(r.body);
      return {200, "application/json", "{}"};
    });
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
  }
  std::vector<nlohmann::json> Received() {
    std::lock_guard lock(mu);
    std::vector<nlohmann::json> out;
    for (const auto& b : bodies) out.push_back(nlohmann::json::parse(b, nullptr, false));
    return out;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/retrain"; }
  std::mutex mu;
  std::vector<std::string> bodies;
  std::unique_ptr<HttpServer> server;
};

struct Scenario {
  const char* name;
  Drift drift;
  std::string signal, feature;  // expected in the first request's reasons ("" feature: any)
  bool restart = false;
  double size = 3.0;  // TrafficOptions::drift_size
  // All predictions are written 2 s before the views and clicks, as when the
  // clicks pipeline runs behind the model servers.
  bool clicks_behind = false;
  // Calibration is judged on labels all of which matured: the attribution
  // window (30 minutes), then the evidence of a few tiles.
  int64_t within_minutes = 30;
};

class MonitoringTest : public ::testing::TestWithParam<Scenario> {};

// Commits every second, so a settled report comes a second after the last read
// (SettledReport).
constexpr auto kMonitoringCommitInterval = std::chrono::seconds(1);
const std::string kFirstWindowYaml =
    "monitoring:\n  defaults: {reference: first_window}\n" + CommitIntervalYaml(kMonitoringCommitInterval);

// Produces events [from, to) of the stream (index i has event time start + i * step),
// adding the event times of the clicks among them to *click_times.
void Produce(SimpleProducer& producer, TrafficGenerator& gen, int64_t start, int64_t from, int64_t to,
             std::vector<int64_t>* click_times, bool clicks_behind = false) {
  GeneratedPrediction prediction;
  std::vector<Event> held;  // views and clicks not yet sent (all of them, with clicks_behind)
  auto send_held = [&] {
    for (const Event& h : held)
      if (!producer.Send(h.type == EventType::kView ? "views" : "clicks", h.user_id, EncodeEvent(h, WireFormat::kProtobuf)).ok())
        return false;
    held.clear();
    return true;
  };
  for (int64_t i = from; i < to; ++i) {
    bool has_prediction = false;
    Event e = gen.Next(start + i * kStepMs, &prediction, &has_prediction);
    if (has_prediction) {
      ASSERT_TRUE(producer.Send("predictions", e.user_id, EncodePrediction(prediction, WireFormat::kProtobuf)).ok());
    }
    if (e.type == EventType::kClick) click_times->push_back(e.ts_ms);
    held.push_back(std::move(e));
    if (!clicks_behind) {
      ASSERT_TRUE(send_held());
    }
  }
  if (clicks_behind) {
    ASSERT_TRUE(producer.Flush(30'000).ok());
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ASSERT_TRUE(send_held());
  }
  ASSERT_TRUE(producer.Flush(30'000).ok());
}

// Five hours of event time ending 10 minutes ago, the change after three.
struct FiveHours {
  int64_t start = 0, change_at = 0, events = 0;
  FiveHours() {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    start = (now - 5 * kHour - 10 * kMinute) / kHour * kHour;
    change_at = start + 3 * kHour;
    events = 5 * kHour / kStepMs;
  }
  TrafficOptions Traffic(Drift drift, double size) const {
    TrafficOptions traffic{.users = 3000, .items = 500, .base_ctr = 0.05, .seed = 11};
    traffic.drift = drift;
    traffic.drift_at_ms = change_at;
    traffic.drift_size = size;
    return traffic;
  }
};

// A featmond alone on a new data directory (in `dir`) replays the whole
// stream as one backlog: it must evaluate the same windows with the same
// results as `report`, equal up to the rounding of floating-point sums taken
// in another order. Returns it, still running.
std::unique_ptr<DaemonProcess> ExpectReplayReportsTheSame(const TempDir& dir, const std::string& bootstrap,
                                                          const std::string& yaml, int64_t end_watermark,
                                                          const nlohmann::json& report) {
  auto replay = std::make_unique<DaemonProcess>(dir.path(), bootstrap, FreePort(), yaml);
  EXPECT_TRUE(replay->WaitReady(std::chrono::seconds(40))) << replay->log();
  EXPECT_TRUE(WaitFor([&] { return Watermark(replay->port()) >= end_watermark; }, std::chrono::seconds(90)));
  auto replayed = SettledReport(replay->port(), end_watermark, kMonitoringCommitInterval);
  EXPECT_EQ(replayed["versions"]["v1"]["windows"]["evaluated_at_ms"], report["versions"]["v1"]["windows"]["evaluated_at_ms"]);
  ExpectSameJson(replayed["last_retrain_request"], report["last_retrain_request"], "last_retrain_request");
  ExpectSameJson(replayed["versions"], report["versions"], "versions");
  return replay;
}

TEST_P(MonitoringTest, RetrainRequestsExactlyWhenTheModelDrifts) {
  const Scenario& sc = GetParam();
  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  WebhookReceiver webhook;
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port,
                       kFirstWindowYaml + "  webhooks: [" + webhook.url() + "]\n");
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();

  const FiveHours stream;
  const int64_t start = stream.start, change_at = stream.change_at, events = stream.events;
  TrafficGenerator gen(stream.Traffic(sc.drift, sc.size));
  std::vector<int64_t> click_times;
  auto producer = SimpleProducer::Create(broker.bootstrap());
  ASSERT_TRUE(producer.ok());

  const int64_t end_watermark = start + events * kStepMs - 2 * kMinute;
  if (sc.restart) {
    // Half past three: after the change, before any alert can have fired.
    const int64_t first = (3 * kHour + 10 * kMinute) / kStepMs;
    Produce(**producer, gen, start, 0, first, &click_times);
    ASSERT_TRUE(WaitFor([&] { return Watermark(port) >= start + first * kStepMs - 2 * kMinute; }, std::chrono::seconds(60)));
    daemon.proc().KillHard();
    daemon.Start();
    ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();
    Produce(**producer, gen, start, first, events, &click_times);
  } else {
    Produce(**producer, gen, start, 0, events, &click_times, sc.clicks_behind);
  }
  ASSERT_TRUE(WaitFor([&] { return Watermark(port) >= end_watermark; }, std::chrono::seconds(90)))
      << "watermark " << Watermark(port) << " < " << end_watermark << "; see " << daemon.log();

  auto report = SettledReport(port, end_watermark, kMonitoringCommitInterval);
  ASSERT_FALSE(report.is_discarded() || report.is_null());
  const auto& v1 = report["versions"]["v1"];
  EXPECT_TRUE(v1["reference_frozen"].get<bool>());
  EXPECT_GT(v1["matured_labels"].get<double>(), 20000);
  EXPECT_EQ(v1["features"].size(), 7u);  // 5 numeric, 2 categorical
  if (!sc.restart) {
    // Every click follows its view's prediction by 0.5 s and labels it; the
    // label matures when the watermark passes the click. That holds however
    // the topics' batches reach featmond: once, predictions read before the
    // first clicks matured unclicked (an empty clicks partition counted as
    // idle at start-up). The restarted process's counter starts again at 0.
    const std::string series = "featmon_labels_matured_total{label=\"clicked\",model=\"ctr_ranker\"}";
    double labelled = 0, expected = -1;
    WaitFor([&] {  // the watermark and the counter read between two advances
      const int64_t w = Watermark(port);
      labelled = MetricValue(Http(port, "GET", "/metrics").body, series);
      if (Watermark(port) != w) return false;
      expected = static_cast<double>(std::count_if(click_times.begin(), click_times.end(), [&](int64_t t) { return t <= w; }));
      return labelled == expected;
    }, std::chrono::seconds(10));
    EXPECT_EQ(labelled, expected) << "clicked labels at the watermark";
    EXPECT_GT(expected, 0.9 * static_cast<double>(click_times.size()));
  }

  if (sc.drift == Drift::kNone) {
    auto records = ReadTopic(broker.bootstrap(), "featmon.retrain", 1, std::chrono::seconds(2));
    EXPECT_TRUE(records.empty());
    EXPECT_TRUE(webhook.Received().empty());
    for (const auto& f : v1["features"]) EXPECT_NE(f["status"], "drift") << f.dump();
    EXPECT_TRUE(report["last_retrain_request"].is_null());
    // The counters exist from the model's first evaluation, at 0, so that an
    // alert on increase() sees the first request.
    const std::string metrics = Http(port, "GET", "/metrics").body;
    for (const char* reason : {"data_drift", "prediction_drift", "calibration", "calibration_cusum"})
      EXPECT_NE(metrics.find("featmon_retrain_requests_total{model=\"ctr_ranker\",reason=\"" + std::string(reason) +
                             "\"} 0\n"),
                std::string::npos)
          << reason;
    return;
  }

  // The topic: protobuf, keyed by model. A crash between producing and
  // committing may repeat a request; a repeat has the same event time.
  auto records = ReadTopic(broker.bootstrap(), "featmon.retrain", 1, std::chrono::seconds(30));
  ASSERT_EQ(records.size(), 1u) << "no retrain request; see " << daemon.log();
  records = ReadTopic(broker.bootstrap(), "featmon.retrain", 10, std::chrono::seconds(2));
  // The cooldown is per reason: each reason asks once (a repeat after a crash
  // has the same event time), and the first request is the one judged here.
  std::set<int64_t> event_times;
  std::map<std::string, std::set<int64_t>> times_by_reason;
  v1::RetrainRequest request, first;
  for (const auto& r : records) {
    ASSERT_TRUE(request.ParseFromString(r.payload));
    EXPECT_EQ(r.key, "ctr_ranker");
    event_times.insert(request.event_time_ms());
    for (const auto& reason : request.reasons())
      times_by_reason[reason.signal() + "/" + reason.feature()].insert(request.event_time_ms());
    if (first.event_time_ms() == 0 || request.event_time_ms() < first.event_time_ms()) first = request;
  }
  for (const auto& [reason, times] : times_by_reason)
    EXPECT_EQ(times.size(), 1u) << reason << " asked more than once: the cooldown failed";
  request = first;
  EXPECT_EQ(request.model(), "ctr_ranker");
  EXPECT_EQ(request.model_version(), "v1");
  EXPECT_GT(request.event_time_ms(), change_at) << request.DebugString();
  EXPECT_LE(request.event_time_ms(), change_at + sc.within_minutes * kMinute)
      << "detected " << (request.event_time_ms() - change_at) / kMinute << " minutes after the change";
  std::printf("%s: retrain request %lld minutes after the change\n", sc.name,
              static_cast<long long>((request.event_time_ms() - change_at) / kMinute));
  bool reason_found = false;
  for (const auto& reason : request.reasons())
    reason_found |= reason.signal() == sc.signal && (sc.feature.empty() || reason.feature() == sc.feature);
  EXPECT_TRUE(reason_found) << request.DebugString();
  EXPECT_EQ(request.current_window().end_ms(), request.event_time_ms());
  EXPECT_EQ(request.current_window().end_ms() - request.current_window().start_ms(), kHour);
  EXPECT_EQ(request.reference_window().start_ms(), start);

  // The webhook: the same request as JSON (protobuf field names).
  ASSERT_TRUE(WaitFor([&] { return !webhook.Received().empty(); }, std::chrono::seconds(10)));
  auto hooks = webhook.Received();
  std::set<int64_t> hook_times;
  for (const auto& h : hooks) hook_times.insert(std::stoll(h["event_time_ms"].get<std::string>()));
  EXPECT_EQ(hook_times, event_times);
  for (const auto& h : hooks) {
    EXPECT_EQ(h["model"], "ctr_ranker");
    if (std::stoll(h["event_time_ms"].get<std::string>()) == request.event_time_ms()) {
      EXPECT_EQ(h["reasons"].size(), static_cast<size_t>(request.reasons_size()));
    }
  }

  // The report and the metrics agree.
  EXPECT_EQ(std::stoll(report["last_retrain_request"]["event_time_ms"].dump()), *event_times.rbegin());
  const std::string metrics = Http(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("featmon_retrain_requests_total{model=\"ctr_ranker\""), std::string::npos);
  EXPECT_NE(metrics.find("featmon_drift_score{"), std::string::npos);
  EXPECT_NE(metrics.find("featmon_model_calibration_ratio{model=\"ctr_ranker\",model_version=\"v1\"}"), std::string::npos);
  EXPECT_NE(metrics.find("featmon_labels_matured_total{label=\"clicked\",model=\"ctr_ranker\"}"), std::string::npos);

  if (sc.restart) {
    // Replaying the whole stream from scratch, as one backlog, evaluates the
    // same windows with the same results as the run that lived through it
    // and was killed in the middle.
    daemon.proc().Signal(SIGTERM);
    ASSERT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 0);
    TempDir replay_dir;
    ExpectReplayReportsTheSame(replay_dir, broker.bootstrap(), kFirstWindowYaml, end_watermark, report);
  }
}

// Three featmond sharing a group with kafka.monitor_changelog_topic monitor
// the models once between them (issue 13): the group elects one, which reads
// every predictions and clicks partition. Before a feature shift, that one
// is killed (SIGKILL), and the monitoring moves with its state to another,
// which reads on from the last commit, and the killed one comes back; at the
// shift the owner stops (SIGTERM, as a rolling update does) and hands it
// over. Then the report, asked of each of the two left, equals that of one
// featmond replaying the whole stream alone, and each retrain request went
// out once, on the topic and on the webhook.
TEST(MonitoringClusterTest, ThreeInstancesMonitorOnceAndAnyOfThemAnswers) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  ASSERT_TRUE(broker.Control("create featmon.monitor-changelog 1"));
  WebhookReceiver webhook;
  const std::string yaml = std::string(DaemonProcess::kKafkaYaml) +
                           "  monitor_changelog_topic: featmon.monitor-changelog\n" + kFirstWindowYaml +
                           "  webhooks: [" + webhook.url() + "]\n";
  std::vector<std::unique_ptr<DaemonProcess>> instances;
  for (const char* name : {"a", "b", "c"}) {
    mkdir(dir.sub(name).c_str(), 0755);
    const uint16_t port = FreePort();
    instances.push_back(std::make_unique<DaemonProcess>(
        dir.sub(name), broker.bootstrap(), port, yaml,
        std::vector<std::string>{"--advertised-url", "http://127.0.0.1:" + std::to_string(port)}));
  }
  auto monitoring_owner = [&]() -> DaemonProcess* {
    for (auto& d : instances) {
      auto j = Http(d->port(), "GET", "/v1/cluster").json();
      if (j.is_discarded() || !j["monitoring_owner"].is_string()) continue;
      for (auto& o : instances)
        if (j["monitoring_owner"] == "http://127.0.0.1:" + std::to_string(o->port())) return o.get();
    }
    return nullptr;
  };
  for (auto& d : instances) ASSERT_TRUE(d->WaitReady(std::chrono::seconds(40))) << d->log();
  ASSERT_TRUE(WaitFor([&] { return monitoring_owner() != nullptr; }, std::chrono::seconds(60)))
      << "no instance announced that it monitors; see " << instances[0]->log();

  const FiveHours stream;
  const int64_t start = stream.start, change_at = stream.change_at, events = stream.events;
  TrafficGenerator gen(stream.Traffic(Drift::kFeatureShift, 3.0));
  std::vector<int64_t> click_times;
  auto producer = SimpleProducer::Create(broker.bootstrap());
  ASSERT_TRUE(producer.ok());

  // Moves the monitoring away from its owner, once it has read the stream
  // up to `upto` events, by stopping it with `signal`; a killed one is
  // restarted after the next owner has taken over, a stopped one stays
  // down. Returns the next owner.
  std::set<DaemonProcess*> down;
  auto move_monitoring = [&](int64_t upto, int signal) -> DaemonProcess* {
    DaemonProcess* owner = monitoring_owner();
    EXPECT_NE(owner, nullptr);
    if (!owner) return nullptr;
    EXPECT_TRUE(WaitFor([&] { return Watermark(owner->port()) >= start + upto * kStepMs - 2 * kMinute; },
                        std::chrono::seconds(60)));
    if (signal == SIGKILL) {
      owner->proc().KillHard();
    } else {
      owner->proc().Signal(signal);
      EXPECT_EQ(owner->proc().Wait(std::chrono::seconds(30)), 0) << owner->log();
    }
    DaemonProcess* next = nullptr;
    EXPECT_TRUE(WaitFor([&] {
      next = monitoring_owner();
      return next != nullptr && next != owner && Http(next->port(), "GET", "/v1/monitoring/models").status == 200;
    }, std::chrono::seconds(60))) << "the monitoring did not move";
    std::printf("the monitoring moved from port %u to port %u (signal %d)\n", owner->port(), next ? next->port() : 0,
                signal);
    if (signal == SIGKILL) {
      owner->Start();  // back as one that does not monitor
      EXPECT_TRUE(owner->WaitReady(std::chrono::seconds(40))) << owner->log();
    } else {
      down.insert(owner);
    }
    return next;
  };
  // Killed at two hours; stopped as in a rolling update at three, the
  // change, before an alert can have fired.
  const int64_t killed_at = 2 * kHour / kStepMs, stopped_at = 3 * kHour / kStepMs;
  Produce(**producer, gen, start, 0, killed_at, &click_times);
  ASSERT_NE(move_monitoring(killed_at, SIGKILL), nullptr);
  Produce(**producer, gen, start, killed_at, stopped_at, &click_times);
  DaemonProcess* next = move_monitoring(stopped_at, SIGTERM);
  ASSERT_NE(next, nullptr);
  Produce(**producer, gen, start, stopped_at, events, &click_times);

  const int64_t end_watermark = start + events * kStepMs - 2 * kMinute;
  ASSERT_TRUE(WaitFor([&] { return Watermark(next->port()) >= end_watermark; }, std::chrono::seconds(90)))
      << "watermark " << Watermark(next->port()) << "; see " << next->log();
  auto report = SettledReport(next->port(), end_watermark, kMonitoringCommitInterval);
  ASSERT_FALSE(report.is_discarded() || report.is_null());
  EXPECT_GT(report["versions"]["v1"]["matured_labels"].get<double>(), 20000);
  for (auto& d : instances) {
    if (down.count(d.get())) continue;
    auto through = Http(d->port(), "GET", "/v1/monitoring/models/ctr_ranker");
    ASSERT_EQ(through.status, 200) << through.body;
    EXPECT_EQ(through.json(), report) << "port " << d->port() << " answers another report";
  }

  // Exactly one request per trigger: no two records with one event time.
  auto records = ReadTopic(broker.bootstrap(), "featmon.retrain", 1, std::chrono::seconds(30));
  ASSERT_EQ(records.size(), 1u) << "no retrain request";
  records = ReadTopic(broker.bootstrap(), "featmon.retrain", 10, std::chrono::seconds(2));
  std::set<int64_t> event_times;
  for (const auto& r : records) {
    v1::RetrainRequest request;
    ASSERT_TRUE(request.ParseFromString(r.payload));
    EXPECT_TRUE(event_times.insert(request.event_time_ms()).second)
        << "the request at " << request.event_time_ms() << " went out twice";
    EXPECT_GT(request.event_time_ms(), change_at);
  }
  ASSERT_TRUE(WaitFor([&] { return webhook.Received().size() >= records.size(); }, std::chrono::seconds(10)));
  std::set<int64_t> hook_times;
  for (const auto& h : webhook.Received())
    EXPECT_TRUE(hook_times.insert(std::stoll(h["event_time_ms"].get<std::string>())).second) << h.dump();
  EXPECT_EQ(hook_times, event_times);

  // One featmond alone, replaying the whole stream, reports the same.
  TempDir replay_dir;
  auto replay = ExpectReplayReportsTheSame(replay_dir, broker.bootstrap(),
                                           "kafka:\n  group_id: featmond-replay\n" + kFirstWindowYaml,
                                           end_watermark, report);

  // The last owner restored the one before's state and read on from its
  // offsets: it read only the predictions after the handover, not the stream
  // again (which would also give the same report).
  const std::string series = "featmon_events_consumed_total{topic=\"predictions\"}";
  const double read_by_next = MetricValue(Http(next->port(), "GET", "/metrics").body, series);
  const double read_by_replay = MetricValue(Http(replay->port(), "GET", "/metrics").body, series);
  std::printf("predictions read: %.0f by the last owner, %.0f by the replay\n", read_by_next, read_by_replay);
  EXPECT_GT(read_by_next, 0);
  EXPECT_LT(read_by_next, 0.5 * read_by_replay) << "the last owner read the stream again";
  EXPECT_NE(ReadFile(next->log()).find("monitoring the group's models here"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, MonitoringTest,
    ::testing::Values(Scenario{"stationary", Drift::kNone, "", ""},
                      // Once, predictions read before the first clicks matured unclicked.
                      Scenario{"stationary_clicks_behind", Drift::kNone, "", "", false, 3.0, true},
                      Scenario{"feature_shift", Drift::kFeatureShift, "data", "dwell_prev_s"},
                      Scenario{"category_reshuffle", Drift::kCategoryReshuffle, "data", "device"},
                      // Scores x4. At x3 (log-normal scores moved by 1.8 of their sd) the
                      // default rules fire 30 minutes after the change, on the limit.
                      Scenario{"score_shift", Drift::kScoreShift, "prediction", "score", false, 4.0},
                      Scenario{"calibration", Drift::kCalibration, "performance", "", false, 3.0, false, 60},
                      Scenario{"feature_shift_with_restart", Drift::kFeatureShift, "data", "dwell_prev_s", true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace featmon::testing
