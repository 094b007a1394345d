// featmond as users run it: broker and daemon in their own processes, real
// RocksDB, real HTTP. Checks every entity against the oracle, the dead-letter
// topic, the metrics, the API's errors, and a clean SIGTERM and restart.
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/oracle_check.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace featmon::testing {
namespace {

TEST(EndToEndTest, IngestsServesRejectsAndRestartsCleanly) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port);
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << "featmond never became ready; see " << daemon.log();

  auto producer = SimpleProducer::Create(broker.bootstrap());
  ASSERT_TRUE(producer.ok());
  TrafficGenerator gen({.users = 60, .items = 40, .item_zipf_s = 1.0, .base_ctr = 0.2, .categories = 5, .seed = 7});
  Oracle oracle;
  const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count() - 30 * 60'000;
  const int kEvents = 4000;
  int64_t newest = 0;
  for (int i = 0; i < kEvents; ++i) {
    Event e = gen.Next(base + i * 100);
    oracle.Add(e);
    newest = e.ts_ms;
    ASSERT_TRUE((*producer)->Send(e.type == EventType::kView ? "views" : "clicks", e.user_id,
                                  EncodeEvent(e, static_cast<WireFormat>(i % 3))).ok());
  }
  // Ten unusable messages, each for its own reason.
  Event future = gen.Next(base + 3'600'000);
  future.type = EventType::kView;
  Event no_user = future, no_item = future, zero_ts = future;
  no_user.user_id.clear();
  no_item.item_id.clear();
  zero_ts.ts_ms = 0;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"views", "\xff\xfe garbage"}, {"clicks", "{\"user_id\": 5, \"item_id\": [}"}, {"views", std::string("\0\0", 2)},
      {"views", EncodeEvent(no_user, WireFormat::kJson)}, {"views", EncodeEvent(no_item, WireFormat::kProtobuf)},
      {"views", EncodeEvent(zero_ts, WireFormat::kConfluent)}, {"views", EncodeEvent(future, WireFormat::kProtobuf)},
      {"clicks", "{\"userId\":\"u1\",\"itemId\":\"i1\",\"tsMs\":\"not-a-number\"}"}, {"views", "{}"},
      {"clicks", "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"ts_ms\":-1}"}};
  for (const auto& [topic, payload] : bad) ASSERT_TRUE((*producer)->Send(topic, "k", payload).ok());
  ASSERT_TRUE((*producer)->Flush(30000).ok());
  const int64_t total = kEvents + static_cast<int64_t>(bad.size());

  ASSERT_TRUE(WaitFor([&] { return daemon.CaughtUp(total); }, std::chrono::seconds(60)))
      << Http(port, "GET", "/v1/status").body;

  // Every entity, through the batch route, against the oracle.
  const size_t entities = oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size();
  auto check_all = [&] {
    auto [compared, diffs] = CompareWithOracle(port, oracle, newest + 1);
    EXPECT_EQ(compared, entities);
    return diffs;
  };
  auto diffs = check_all();
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // Single lookups and the API's errors.
  auto single = Http(port, "GET", "/v1/features/user/u1?as_of_ms=" + std::to_string(newest + 1));
  EXPECT_EQ(single.status, 200);
  EXPECT_EQ(single.json()["entity"], "user");
  EXPECT_EQ(single.json()["as_of_ms"], newest + 1);
  auto unknown = Http(port, "GET", "/v1/features/item/no-such-item").json();
  EXPECT_EQ(unknown["found"], false);
  EXPECT_EQ(unknown["features"]["views_24h"], 0);
  EXPECT_TRUE(unknown["features"]["ctr_7d"].is_null());
  EXPECT_EQ(Http(port, "GET", "/v1/features/user/u1?as_of_ms=yesterday").status, 400);
  EXPECT_EQ(Http(port, "GET", "/v1/features/shop/x").status, 404);
  EXPECT_EQ(Http(port, "GET", "/nope").status, 404);
  EXPECT_EQ(Http(port, "POST", "/v1/features/batch", "{\"entity\":\"user\",\"ids\":[1]}").status, 400);
  EXPECT_EQ(Http(port, "POST", "/v1/features/batch", "not json").status, 400);
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);

  // Dead letters: unchanged payloads, with their reasons and origin.
  auto dlq = ReadTopic(broker.bootstrap(), "featmon.dlq", bad.size());
  ASSERT_EQ(dlq.size(), bad.size());
  std::multiset<std::string> payloads, reasons;
  for (const auto& d : dlq) {
    payloads.insert(d.payload);
    reasons.insert(d.headers.at("featmon.reason"));
    EXPECT_TRUE(d.headers.count("featmon.source.topic") && d.headers.count("featmon.source.partition") &&
                d.headers.count("featmon.source.offset") && d.headers.count("featmon.error"));
  }
  for (const auto& [topic, payload] : bad) EXPECT_EQ(payloads.count(payload), 1u) << payload;
  EXPECT_EQ(reasons.count("decode_error"), 4u);
  EXPECT_EQ(reasons.count("missing_user_id"), 2u);  // "{}" has no user either
  EXPECT_EQ(reasons.count("missing_item_id"), 1u);
  EXPECT_EQ(reasons.count("invalid_timestamp"), 2u);  // 0 and -1
  EXPECT_EQ(reasons.count("future_timestamp"), 1u);

  // Metrics: the documented series, and never an entity id as a label.
  std::string metrics = Http(port, "GET", "/metrics").body;
  for (const char* name : {"featmon_events_consumed_total{topic=\"views\"}", "featmon_events_rejected_total{",
                           "featmon_events_late_dropped_total{", "featmon_consumer_lag_messages{",
                           "featmon_commit_duration_seconds_bucket", "featmon_http_request_duration_seconds_bucket{",
                           "featmon_build_info{"}) {
    EXPECT_NE(metrics.find(name), std::string::npos) << name;
  }
  EXPECT_NE(metrics.find("featmon_events_rejected_total{reason=\"future_timestamp\",topic=\"views\"} 1"), std::string::npos);
  EXPECT_EQ(metrics.find("\"u1\""), std::string::npos);
  EXPECT_EQ(metrics.find("\"i1\""), std::string::npos);

  // SIGTERM: exit 0 within 10 s; a restart resumes and counts nothing twice.
  daemon.proc().Signal(SIGTERM);
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(10)), 0);
  daemon.Start();
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40)));
  ASSERT_TRUE(WaitFor([&] { return daemon.CaughtUp(total); }, std::chrono::seconds(30)));
  auto status = Http(port, "GET", "/v1/status").json();
  EXPECT_EQ(status["consumed_total"], 0) << "nothing should be consumed again after a clean stop";
  diffs = check_all();
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences after restart, first: " << diffs.front();
}

}  // namespace
}  // namespace featmon::testing
