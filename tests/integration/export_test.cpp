// featmon-export against a real broker: a generated stream of views, clicks
// and predictions, with garbage on every topic, another model's predictions
// and views out of event-time order. The export must succeed, report what it
// skipped, label every prediction as the brute-force rule does, split by
// time with the gaps, and write files pandas reads with the right types; and
// its labels, featmond's labeled examples and featmond's matured counts agree.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "featmon/v1/events.pb.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/monitoring_check.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace featmon::testing {
namespace {

constexpr int64_t kWindowMs = 30 * 60'000;  // the default attribution_window
constexpr int64_t kLatenessMs = 30'000;     // the default allowed_lateness

struct Logged {
  bool prediction;
  std::string request_id, user_id, item_id, model;
  int64_t ts_ms;
};

// Predictions of `model` labelled as featmond labels them: (matured, positive).
std::pair<int, int> OracleLabels(std::vector<Logged> all, const std::string& model, int64_t watermark_ms,
                                 int64_t from_ms = INT64_MIN, int64_t to_ms = INT64_MAX) {
  std::stable_sort(all.begin(), all.end(), [](const Logged& a, const Logged& b) {
    return std::pair(a.ts_ms, !a.prediction) < std::pair(b.ts_ms, !b.prediction);
  });
  std::vector<int64_t> click_of(all.size(), -1);
  for (size_t c = 0; c < all.size(); ++c) {
    if (all[c].prediction) continue;
    const Logged& click = all[c];
    for (int by_request = click.request_id.empty() ? 0 : 1; by_request >= 0; --by_request) {
      int64_t best = -1;
      for (size_t p = 0; p < c; ++p) {
        const Logged& r = all[p];
        if (!r.prediction || click_of[p] >= 0 || r.item_id != click.item_id) continue;
        const bool key = by_request ? r.request_id == click.request_id : r.request_id.empty() && r.user_id == click.user_id;
        if (key && click.ts_ms >= r.ts_ms && click.ts_ms <= r.ts_ms + kWindowMs &&
            (best < 0 || r.ts_ms >= all[best].ts_ms))
          best = static_cast<int64_t>(p);
      }
      if (best >= 0) {
        click_of[best] = click.ts_ms;
        break;
      }
    }
  }
  int matured = 0, positive = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i].prediction || all[i].model != model || all[i].ts_ms < from_ms || all[i].ts_ms > to_ms) continue;
    const bool done = click_of[i] >= 0 ? click_of[i] <= watermark_ms : all[i].ts_ms + kWindowMs <= watermark_ms;
    matured += done;
    positive += done && click_of[i] >= 0;
  }
  return {matured, positive};
}

// The generated stream: views (some two hours late), clicks and predictions
// (some of another model, some logging a config feature), then garbage.
struct Stream {
  std::vector<Logged> logged;  // clicks and predictions, for the label oracle
  int64_t max_ts = 0;
  int other_models = 0, late_views = 0;
};
constexpr int64_t kStart = 1'700'000'000'000;

Stream ProduceStream(const std::string& bootstrap, int events) {
  Stream s;
  auto producer = SimpleProducer::Create(bootstrap);
  EXPECT_TRUE(producer.ok()) << producer.status().ToString();
  if (!producer.ok()) return s;
  TrafficOptions traffic;
  traffic.users = 300;
  traffic.items = 40;
  TrafficGenerator gen(traffic);
  for (int i = 0; i < events; ++i) {
    const int64_t ts = kStart + i * 6000;  // 12,000 events: 20 hours, each split spans more than the 30-minute gap
    GeneratedPrediction p;
    bool has_prediction = false;
    Event e = gen.Next(ts, &p, &has_prediction);
    if (i % 400 == 7) {  // a view two hours late in its partition
      e.ts_ms = ts - 2 * 3600'000;
      ++s.late_views;
    }
    s.max_ts = std::max(s.max_ts, e.ts_ms);
    const bool click = e.type == EventType::kClick;
    EXPECT_TRUE((*producer)->Send(click ? "clicks" : "views", e.user_id, EncodeEvent(e, WireFormat::kJson)).ok());
    if (click) s.logged.push_back({false, e.request_id, e.user_id, e.item_id, "", e.ts_ms});
    if (!has_prediction) continue;
    if (i % 10 == 3) {  // another model's prediction of the same view: it competes for the same click
      p.model = "other";
      ++s.other_models;
    }
    if (i % 50 == 0) p.features.push_back({"user.views_24h", 1.0});  // logged under a config feature's name
    s.logged.push_back({true, p.request_id, p.user_id, p.item_id, p.model, p.ts_ms});
    EXPECT_TRUE((*producer)->Send("predictions", p.user_id, EncodePrediction(p, i % 2 ? WireFormat::kJson : WireFormat::kProtobuf)).ok());
  }
  for (const char* topic : {"views", "clicks", "predictions"})
    for (int i = 0; i < 5; ++i) EXPECT_TRUE((*producer)->Send(topic, "k", "garbage\xff").ok());
  EXPECT_TRUE((*producer)->Flush(30'000).ok());
  return s;
}

int SummaryTotal(const nlohmann::json& summary, const char* field) {
  int total = 0;
  for (const char* s : {"train", "validation", "test", "left_out"}) total += summary["splits"][s][field].get<int>();
  return total;
}

TEST(ExportTest, ExportsLabeledPointInTimeExamplesFromTheTopics) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  const Stream stream = ProduceStream(broker.bootstrap(), 12'000);
  const std::vector<Logged>& logged = stream.logged;
  const int64_t start = kStart, max_ts = stream.max_ts;
  const int other_models = stream.other_models, late_views = stream.late_views;

  const std::string out = dir.sub("out");
  Process exporter({FEATMON_EXPORT_BIN, "--brokers", broker.bootstrap(), "--model", "ctr_ranker", "--out", out},
                   dir.sub("export.log"));
  ASSERT_EQ(exporter.Wait(std::chrono::seconds(120)), 0) << std::ifstream(dir.sub("export.log")).rdbuf();
  std::stringstream log;
  log << std::ifstream(dir.sub("export.log")).rdbuf();
  EXPECT_NE(log.str().find("train: "), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("replayed"), std::string::npos) << "no progress lines when stderr is not a terminal";

  nlohmann::json summary;
  std::ifstream(out + "/summary.json") >> summary;
  EXPECT_EQ(summary["rejected"]["views/decode_error"], 5) << summary.dump(2);
  EXPECT_EQ(summary["rejected"]["clicks/decode_error"], 5);
  EXPECT_EQ(summary["rejected"]["predictions/decode_error"], 5);
  EXPECT_EQ(summary["other_models"], other_models);
  EXPECT_GE(summary["out_of_order"].get<int>(), late_views / 2) << "late views are counted";
  const auto [matured, positive] = OracleLabels(logged, "ctr_ranker", max_ts - kLatenessMs);
  EXPECT_EQ(SummaryTotal(summary, "rows"), matured);
  EXPECT_EQ(SummaryTotal(summary, "positives"), positive);
  EXPECT_GT(positive, 50);
  EXPECT_GT(summary["splits"]["left_out"]["rows"].get<int>(), 0);
  EXPECT_EQ(summary["splits"]["train"]["left_out"].get<int>() + summary["splits"]["validation"]["left_out"].get<int>(),
            summary["splits"]["left_out"]["rows"].get<int>())
      << "every left-out row is counted against the split it was taken from";
  EXPECT_EQ(summary["splits"]["test"]["left_out"].get<int>(), 0);
  EXPECT_GT(summary["not_matured"].get<int>(), 0);
  EXPECT_GT(summary["skew"]["user.views_24h"]["compared"].get<int>(), 0) << summary.dump(2);

  // --from-ms and --to-ms: predictions in that range only, their features
  // still from the events before it. The mock broker answers no offset for
  // any time, so every partition is read from its start and event times decide.
  const int64_t from = start + 10 * 3600'000, to = start + 15 * 3600'000;
  const std::string ranged = dir.sub("ranged");
  Process ranged_export({FEATMON_EXPORT_BIN, "--brokers", broker.bootstrap(), "--model", "ctr_ranker", "--out", ranged,
                         "--from-ms", std::to_string(from), "--to-ms", std::to_string(to), "--format", "jsonl"},
                        dir.sub("ranged.log"));
  ASSERT_EQ(ranged_export.Wait(std::chrono::seconds(120)), 0) << std::ifstream(dir.sub("ranged.log")).rdbuf();
  nlohmann::json in_range;
  std::ifstream(ranged + "/summary.json") >> in_range;
  const auto [ranged_matured, ranged_positive] = OracleLabels(logged, "ctr_ranker", max_ts - kLatenessMs, from, to);
  EXPECT_EQ(SummaryTotal(in_range, "rows"), ranged_matured) << in_range.dump(2);
  EXPECT_EQ(SummaryTotal(in_range, "positives"), ranged_positive);
  EXPECT_GT(in_range["out_of_range"].get<int>(), 0);
  EXPECT_GT(in_range["timestamp_fallbacks"].get<int>(), 0);
  for (const char* split : {"train", "validation", "test"}) {
    std::ifstream lines(ranged + "/" + split + ".jsonl");
    for (std::string line; std::getline(lines, line);) {
      const int64_t ts = nlohmann::json::parse(line)["ts_ms"];
      ASSERT_GE(ts, from);
      ASSERT_LE(ts, to);
    }
  }
  // Features are read from everything before the range too: the first
  // example of a user seen before `from` has counts from then.
  std::ifstream first_lines(ranged + "/train.jsonl");
  std::string first;
  ASSERT_TRUE(std::getline(first_lines, first));
  EXPECT_GT(nlohmann::json::parse(first)["item.views_7d"].get<int>(), 0);

  // pandas reads the files with the right types; the splits are in time order with the gaps.
  const std::string check = dir.sub("check.py");
  std::ofstream(check) << R"PY(
import json, sys
import pandas as pd
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
frames = {n: pd.read_csv(f"{out}/{n}.csv", dtype={"request_id": str, "user_id": str, "item_id": str, "model_version": str})
          for n in ("train", "validation", "test")}
for n, f in frames.items():
    assert len(f) == s["splits"][n]["rows"] and len(f) > 0, (n, len(f), s["splits"])
    assert str(f["ts_ms"].dtype) == "int64" and str(f["label"].dtype) == "int64", (n, f.dtypes, f.head())
    assert str(f["score"].dtype) == "float64" and str(f["user.views_24h"].dtype) == "int64", f.dtypes
    assert str(f["item.ctr_24h"].dtype) == "float64", f.dtypes
    assert set(f["label"].unique()) <= {0, 1}
    assert f["ts_ms"].is_monotonic_increasing, n
    assert "logged.dwell_prev_s" in f.columns and "logged.device" in f.columns, list(f.columns)
tr, va, te = frames["train"], frames["validation"], frames["test"]
gap = s["gap_ms"]
assert tr["ts_ms"].max() < s["validation_from_ms"] - gap, "train reaches into the gap"
assert va["ts_ms"].min() >= s["validation_from_ms"] and va["ts_ms"].max() < s["test_from_ms"] - gap
assert te["ts_ms"].min() >= s["test_from_ms"]
print("ok")
)PY";
  Process pandas({"/usr/bin/python3", check, out}, dir.sub("check.log"));
  EXPECT_EQ(pandas.Wait(std::chrono::seconds(60)), 0) << std::ifstream(dir.sub("check.log")).rdbuf();
}

// The three places a label shows up agree on one stream: featmond's matured
// counts, the LabeledExamples it writes to featmon.examples, and the rows
// featmon-export writes (both read the same topics; featmond lives through
// them, the export replays them).
TEST(ExportTest, ExportLabelsAgreeWithFeatmondsExamplesAndMaturedCounts) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  const Stream stream = ProduceStream(broker.bootstrap(), 6'000);
  {
    // A click at the newest event time of any topic: featmond's watermark
    // (predictions and clicks) and the export's (every topic) end together.
    auto producer = SimpleProducer::Create(broker.bootstrap());
    ASSERT_TRUE(producer.ok());
    Event end{};
    end.type = EventType::kClick;
    end.user_id = end.item_id = end.request_id = "end";
    end.ts_ms = stream.max_ts;
    ASSERT_TRUE((*producer)->Send("clicks", "end", EncodeEvent(end, WireFormat::kJson)).ok());
    ASSERT_TRUE((*producer)->Flush(30'000).ok());
  }
  constexpr auto kCommitInterval = std::chrono::milliseconds(200);
  DaemonProcess daemon(dir.path(), broker.bootstrap(), FreePort(),
                       "monitoring:\n" + CommitIntervalYaml(kCommitInterval) + "  partition_idle_timeout: 2s\n");
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();
  const nlohmann::json report = SettledReport(daemon.port(), stream.max_ts - kLatenessMs, kCommitInterval);
  ASSERT_TRUE(report.is_object()) << report.dump();
  ASSERT_EQ(Watermark(daemon.port()), stream.max_ts - kLatenessMs);
  int matured = 0;
  for (const auto& [version, v] : report["versions"].items()) matured += static_cast<int>(v["matured_labels"].get<double>());
  daemon.proc().Signal(SIGTERM);
  ASSERT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 0);

  std::map<std::string, bool> example_labels;  // ctr_ranker's, by "request|user|item|ts"
  int repeated = 0;
  size_t records = 0;  // no transactions write the topic: its offsets count its records
  for (const PartitionOffsets& offsets : BrokerWatermarks(broker.bootstrap(), "featmon.examples", 4))
    records += static_cast<size_t>(offsets.high - offsets.low);
  for (const TopicRecord& r : ReadTopic(broker.bootstrap(), "featmon.examples", records, std::chrono::seconds(60))) {
    v1::LabeledExample ex;
    ASSERT_TRUE(ex.ParseFromString(r.payload));
    if (ex.model() != "ctr_ranker") continue;
    const std::string key = ex.request_id() + "|" + ex.user_id() + "|" + ex.item_id() + "|" + std::to_string(ex.ts_ms());
    repeated += !example_labels.emplace(key, ex.label()).second;
  }
  EXPECT_EQ(repeated, 0);
  EXPECT_EQ(static_cast<int>(example_labels.size()), matured) << "featmon.examples and the monitor's matured labels";
  int example_positives = 0;
  for (const auto& [key, label] : example_labels) example_positives += label;

  const std::string out = dir.sub("out");
  Process exporter({FEATMON_EXPORT_BIN, "--brokers", broker.bootstrap(), "--model", "ctr_ranker", "--out", out},
                   dir.sub("export.log"));
  ASSERT_EQ(exporter.Wait(std::chrono::seconds(120)), 0) << std::ifstream(dir.sub("export.log")).rdbuf();
  nlohmann::json summary;
  std::ifstream(out + "/summary.json") >> summary;
  EXPECT_EQ(SummaryTotal(summary, "rows"), matured) << "the export's rows and the monitor's matured labels";
  EXPECT_EQ(SummaryTotal(summary, "positives"), example_positives);
  // Row by row (the left-out rows are only counted): ts_ms, request_id,
  // user_id, item_id, model_version, score, label lead every row.
  int compared = 0, differ = 0;
  for (const char* split : {"train", "validation", "test"}) {
    std::ifstream csv(out + "/" + split + ".csv");
    std::string line;
    std::getline(csv, line);  // the header
    while (std::getline(csv, line)) {
      std::vector<std::string> f;
      std::stringstream cells(line);
      for (std::string cell; f.size() < 7 && std::getline(cells, cell, ',');) f.push_back(cell);
      ASSERT_EQ(f.size(), 7u) << line;
      auto it = example_labels.find(f[1] + "|" + f[2] + "|" + f[3] + "|" + f[0]);
      differ += it == example_labels.end() || it->second != (f[6] == "1");
      ++compared;
    }
  }
  std::printf("matured %d, examples %zu, export rows %d (%d compared row by row, %d differ)\n", matured,
              example_labels.size(), SummaryTotal(summary, "rows"), compared, differ);
  EXPECT_GT(compared, 1000);
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace featmon::testing
