// The HTTP API's routing and answers, called directly (no sockets) on a real
// store holding states the test wrote.
#include "daemon/api/feature_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "daemon/store/rocksdb_store.h"
#include "features/entity_state.h"
#include "tests/daemon/temp_dir.h"
#include "cluster/key_partitioner.h"
#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class FakeIngest final : public IngestStatus {
 public:
  IngestSnapshot snapshot;
  bool assigned = true, ok = true;
  TaskHoldings holdings;           // default: never assigned, so everything local is served
  std::vector<ShardId> held;       // the shards KeepServingShards keeps
  IngestSnapshot Snapshot() const override { return snapshot; }
  bool has_assignment() const override { return assigned; }
  bool healthy() const override { return ok; }
  TaskHoldings Holdings() const override { return holdings; }
  std::vector<int32_t> restoring;  // tasks RestoringTasks reports
  std::vector<int32_t> RestoringTasks() const override { return restoring; }
  std::vector<std::pair<ShardId, int32_t>> serving;  // what ServingShards reports
  std::vector<std::pair<ShardId, int32_t>> ServingShards() const override { return serving; }
  uint64_t off_partition = 0;
  uint64_t OffPartitionEvents() const override { return off_partition; }
  void KeepServingShards(std::vector<ShardId>* shards) const override {
    std::erase_if(*shards, [&](ShardId s) { return std::find(held.begin(), held.end(), s) == held.end(); });
  }
};

// Cached states by shard, as the ingest pipelines would hold them.
class FakeLive final : public LiveStates {
 public:
  std::vector<std::pair<ShardId, EntityState>> states;  // all of user u1
  std::vector<std::pair<ShardId, EntityState>> fresh;   // all of user "fresh"
  void CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                  std::vector<std::pair<ShardId, EntityState>>* out) const override {
    if (kind != EntityKind::kUser || (id != "u1" && id != "fresh")) return;
    for (const auto& s : id == "u1" ? states : fresh)
      if (std::find(shards.begin(), shards.end(), s.first) != shards.end()) out->push_back(s);
  }
};

class FeatureApiTest : public ::testing::Test {
 protected:
  static constexpr int64_t kT0 = 1000 * kDay;  // tile-aligned
  static constexpr int64_t kNow = kT0 + 10 * kMin;

  void SetUp() override {
    set_ = std::make_unique<FeatureSet>(*FeatureSet::Compile(DefaultSpecs()));
    RocksDbStoreOptions options;
    options.path = dir_.path();
    options.min_free_bytes = 0;
    store_ = std::move(*RocksDbStore::Open(options));
    Make("");
    // u1: views at 1, 3 and 7 minutes past kT0, a click at 8.
    const ShardId shard = *store_->RegisterShard({"views", 0});
    FeatureEngine engine(set_.get());
    EntityState u1;
    for (int64_t m : {1, 3, 7}) engine.Apply(Ev(EventType::kView, "i" + std::to_string(m), kT0 + m * kMin), EntityKind::kUser, &u1);
    engine.Apply(Ev(EventType::kClick, "i3", kT0 + 8 * kMin), EntityKind::kUser, &u1);
    CommitBatch batch;
    batch.entities.push_back({EntityKey(shard, EntityKind::kUser, "u1"), ""});
    EncodeEntityState(*set_, EntityKind::kUser, u1, &batch.entities.back().value);
    ASSERT_TRUE(store_->Commit(batch).ok());
  }
  void Make(const std::string& token) {
    FeatureApiOptions options;
    options.version = "test";
    options.bearer_token = token;
    api_ = std::make_unique<FeatureApi>(options, set_.get(), store_.get(), &ingest_, &metrics_, &clock_);
  }
  static Event Ev(EventType type, const std::string& item, int64_t ts) {
    Event e;
    e.type = type;
    e.user_id = "u1";
    e.item_id = item;
    e.ts_ms = ts;
    return e;
  }
  HttpResponse Call(const std::string& method, const std::string& target, const std::string& body = "",
                    const std::string& authorization = "") {
    HttpResponse r = api_->Handle({method, target, authorization, body});
    // Every answer is JSON (or the metrics text), and valid UTF-8 JSON at that.
    if (r.content_type == "application/json") {
      EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded()) << target << ": " << r.body;
    }
    return r;
  }

  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  FakeIngest ingest_;
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<FeatureApi> api_;
};

TEST_F(FeatureApiTest, ALookupIsAsOfNowOrTheLatestEventIfLater) {
  auto r = Call("GET", "/v1/features/user/u1");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["found"], true);
  EXPECT_EQ(j["as_of_ms"], kNow);
  EXPECT_EQ(j["features"]["views_1h"], 3);
  EXPECT_EQ(j["features"]["last_event_ts_ms"], kT0 + 8 * kMin);
  clock_.SetMs(kT0 + 5 * kMin);  // the producers' clocks run ahead of ours
  j = nlohmann::json::parse(Call("GET", "/v1/features/user/u1").body);
  EXPECT_EQ(j["as_of_ms"], kT0 + 8 * kMin) << "an answer including an event must be as of that event at least";
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/v1/features/user/nobody").body)["found"], false);
}

// An instance that shares its group with others (1 of 2 tasks here) answers
// a user from the tasks it holds, never from a stale copy of another task,
// and refuses with 503 what it cannot vouch for: a user found in no held
// task, and items, whose events come from every task. Issue 13 found 761 of
// 949 such lookups wrong: found:false, 1/N of an item's counts, frozen copies.
TEST_F(FeatureApiTest, WithSomeTasksHeldOnlyWholeAnswersAreGiven) {
  const ShardId held = *store_->RegisterShard({"views", 0});
  const ShardId stale = *store_->RegisterShard({"views", 1});
  FeatureEngine engine(set_.get());
  EntityState u2, item;
  Event e = Ev(EventType::kView, "i3", kT0 + 2 * kMin);
  e.user_id = "u2";
  engine.Apply(e, EntityKind::kUser, &u2);
  engine.Apply(e, EntityKind::kItem, &item);
  CommitBatch batch;
  batch.entities.push_back({EntityKey(stale, EntityKind::kUser, "u2"), ""});
  EncodeEntityState(*set_, EntityKind::kUser, u2, &batch.entities.back().value);
  batch.entities.push_back({EntityKey(held, EntityKind::kItem, "i3"), ""});
  EncodeEntityState(*set_, EntityKind::kItem, item, &batch.entities.back().value);
  ASSERT_TRUE(store_->Commit(batch).ok());

  ingest_.holdings = {true, 1, 2};
  ingest_.held = {held};
  auto r = Call("GET", "/v1/features/user/u1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["features"]["views_1h"], 3);
  for (const char* target : {"/v1/features/user/u2", "/v1/features/user/nobody", "/v1/features/item/i3"}) {
    r = Call("GET", target);
    EXPECT_EQ(r.status, 503) << target << ": " << r.body;
    EXPECT_EQ(r.retry_after, "1") << target;
    EXPECT_NE(r.body.find("holds 1 of 2 tasks"), std::string::npos) << target << ": " << r.body;
  }
  EXPECT_EQ(Call("POST", "/v1/features/batch", R"({"entity":"user","ids":["u1"]})").status, 200);
  EXPECT_EQ(Call("POST", "/v1/features/batch", R"({"entity":"user","ids":["u1","u2"]})").status, 503);
  auto status = nlohmann::json::parse(Call("GET", "/v1/status").body);
  EXPECT_EQ(status["tasks"]["held"], 1);
  EXPECT_EQ(status["tasks"]["total"], 2);
  const std::string metrics = Call("GET", "/metrics").body;
  for (const char* series : {"featmon_tasks_held 1", "featmon_tasks 2", "featmon_lookups_refused_total{reason=\"not_held\"} 3",
                             "featmon_lookups_refused_total{reason=\"partial_entity\"} 1"})
    EXPECT_NE(metrics.find(series), std::string::npos) << series << " in:\n" << metrics;

  // Holding every task, it is a full copy again.
  ingest_.holdings = {true, 2, 2};
  ingest_.held = {held, stale};
  r = Call("GET", "/v1/features/user/u2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["features"]["views_1h"], 1);
  EXPECT_EQ(Call("GET", "/v1/features/item/i3").status, 200);
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/v1/features/user/nobody").body)["found"], false);
}

// A restarted cluster member has a copy of tasks the group may have moved
// while it was down: before its first assignment it answers none of it.
TEST_F(FeatureApiTest, BeforeItsFirstAssignmentAClusterMemberAnswersNothingFromItsCopy) {
  const ShardId shard = *store_->RegisterShard({"views", 1});
  FeatureEngine engine(set_.get());
  EntityState u2;
  Event e = Ev(EventType::kView, "i3", kT0 + 2 * kMin);
  e.user_id = "u2";
  engine.Apply(e, EntityKind::kUser, &u2);
  CommitBatch batch;
  batch.entities.push_back({EntityKey(shard, EntityKind::kUser, "u2"), ""});
  EncodeEntityState(*set_, EntityKind::kUser, u2, &batch.entities.back().value);
  ASSERT_TRUE(store_->Commit(batch).ok());

  ingest_.assigned = false;
  ingest_.holdings = {.assigned = false, .held = 0, .total = 2, .cluster_member = true};
  for (const char* target : {"/v1/features/user/u2", "/v1/features/user/nobody", "/v1/features/item/i3"}) {
    auto r = Call("GET", target);
    EXPECT_EQ(r.status, 503) << target << ": " << r.body;
    EXPECT_EQ(r.retry_after, "1") << target;
  }
  EXPECT_NE(Call("GET", "/v1/features/user/u2").body.find("not been assigned its tasks"), std::string::npos);
  // A full copy serves its copy at once.
  ingest_.holdings.cluster_member = false;
  auto r = Call("GET", "/v1/features/user/u2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["features"]["views_1h"], 1);
}

// A user with no events at all is found:false where its task (Kafka's
// default partitioner) is served, as long as every event seen followed that
// rule; anywhere else, or once an event broke the rule, this instance cannot
// tell it from a user held elsewhere, and refuses.
TEST_F(FeatureApiTest, AUserWithNoEventsIsNotFoundWhereItsTaskIsServed) {
  const int32_t task = KafkaDefaultPartition("nobody", 2);
  ingest_.holdings = {true, 1, 2};
  ingest_.serving = {{ShardId{0}, task}};
  auto r = Call("GET", "/v1/features/user/nobody");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["found"], false);
  ingest_.off_partition = 1;
  EXPECT_EQ(Call("GET", "/v1/features/user/nobody").status, 503);
  ingest_.off_partition = 0;
  ingest_.serving = {{ShardId{0}, 1 - task}};
  EXPECT_EQ(Call("GET", "/v1/features/user/nobody").status, 503);
}

// read_uncommitted: a shard the cache holds is read there, the others from
// the store, and no shard from both.
TEST_F(FeatureApiTest, CachedShardsReplaceTheirStoredStateAndTheOthersAreStillRead) {
  const ShardId views = *store_->RegisterShard({"views", 0});
  const ShardId clicks = *store_->RegisterShard({"clicks", 0});
  FeatureEngine engine(set_.get());
  EntityState in_clicks;  // committed in the clicks shard only
  engine.Apply(Ev(EventType::kClick, "i7", kT0 + 9 * kMin), EntityKind::kUser, &in_clicks);
  CommitBatch batch;
  batch.entities.push_back({EntityKey(clicks, EntityKind::kUser, "u1"), ""});
  EncodeEntityState(*set_, EntityKind::kUser, in_clicks, &batch.entities.back().value);
  ASSERT_TRUE(store_->Commit(batch).ok());
  auto committed = nlohmann::json::parse(Call("GET", "/v1/features/user/u1").body);
  EXPECT_EQ(committed["features"]["views_1h"], 3);
  EXPECT_EQ(committed["features"]["clicks_1h"], 2);

  FakeLive live;  // the views shard's cached state: the 3 stored views and a fourth, not yet committed
  EntityState cached;
  for (int64_t m : {1, 3, 7, 9}) engine.Apply(Ev(EventType::kView, "i", kT0 + m * kMin), EntityKind::kUser, &cached);
  engine.Apply(Ev(EventType::kClick, "i3", kT0 + 8 * kMin), EntityKind::kUser, &cached);
  live.states.push_back({views, cached});
  api_->set_live_states(&live);
  auto fresh = nlohmann::json::parse(Call("GET", "/v1/features/user/u1").body);
  EXPECT_EQ(fresh["features"]["views_1h"], 4) << "3 committed + 1 cached would be 7 if the shard were read twice";
  EXPECT_EQ(fresh["features"]["clicks_1h"], 2);

  // A user the pipelines hold before its first commit is found once they
  // have announced it (lookups ask the cache only where the store's shard
  // filters say the entity may be).
  EntityState fresh_state;
  engine.Apply(Ev(EventType::kView, "i", kT0 + 9 * kMin), EntityKind::kUser, &fresh_state);
  live.fresh.push_back({clicks, fresh_state});
  for (int i = 0; i < 500 && !store_->ShardFiltersComplete(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(store_->ShardFiltersComplete());
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/v1/features/user/fresh").body)["found"], false);  // not announced yet
  store_->AnnounceEntity(clicks, EntityKind::kUser, "fresh");
  auto fresh_user = nlohmann::json::parse(Call("GET", "/v1/features/user/fresh").body);
  EXPECT_EQ(fresh_user["found"], true);
  EXPECT_EQ(fresh_user["features"]["views_1h"], 1);

  // A new entity cached before its first event is applied is not found.
  live.states.assign(1, {views, EntityState{}});
  auto empty = nlohmann::json::parse(Call("GET", "/v1/features/user/u1").body);
  EXPECT_EQ(empty["found"], true);
  EXPECT_EQ(empty["features"]["views_1h"], 0);  // only the clicks shard's state is left
  EXPECT_EQ(empty["features"]["clicks_1h"], 1);
}

// bf86bbb answered 200 with counts, distinct counts and a latest timestamp
// that included events after as_of.
TEST_F(FeatureApiTest, APastAsOfTheStateCannotAnswerIs400SayingHowFarBack) {
  auto r = Call("GET", "/v1/features/user/u1?as_of_ms=" + std::to_string(kT0 + 4 * kMin));
  EXPECT_EQ(r.status, 400) << r.body;
  const std::string error = nlohmann::json::parse(r.body)["error"];
  EXPECT_NE(error.find("user u1"), std::string::npos) << error;
  EXPECT_NE(error.find("read it at as_of_ms >= " + std::to_string(kT0 + 8 * kMin)), std::string::npos) << error;
  // The same in a batch, which names the id.
  r = Call("POST", "/v1/features/batch",
           "{\"entity\":\"user\",\"ids\":[\"nobody\",\"u1\"],\"as_of_ms\":" + std::to_string(kT0 + 4 * kMin) + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("user u1"), std::string::npos) << r.body;
  // At the latest event, or after it, the answer is exact.
  r = Call("GET", "/v1/features/user/u1?as_of_ms=" + std::to_string(kT0 + 8 * kMin));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["features"]["views_24h"], 3);
  // An entity with no events after as_of answers it, whatever as_of is.
  EXPECT_EQ(Call("GET", "/v1/features/user/nobody?as_of_ms=1").status, 200);
}

TEST_F(FeatureApiTest, HeadIsAGetAndA405SaysWhatIsAllowed) {
  EXPECT_EQ(Call("HEAD", "/v1/features/user/u1").status, 200);
  EXPECT_EQ(Call("HEAD", "/healthz").status, 200);
  auto r = Call("PUT", "/v1/features/user/u1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
  r = Call("GET", "/v1/features/batch");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  r = Call("DELETE", "/metrics");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
}

// bf86bbb echoed the raw bytes: its JSON answer was not valid UTF-8.
TEST_F(FeatureApiTest, IdsThatAreNotUtf8Are400AndEveryAnswerStaysValidJson) {
  auto r = Call("GET", "/v1/features/user/%FF%FE");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not valid UTF-8"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/v1/features/user/%C3%A9t%C3%A9").status, 200);  // "été"
  r = Call("GET", "/nowhere\xff\xfe");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\\ufffd"), std::string::npos) << r.body;
}

// RFC 9110 §11.1: the scheme is case-insensitive (bf86bbb refused "bearer").
TEST_F(FeatureApiTest, TheBearerSchemeIsCaseInsensitive) {
  const std::string token = "0123456789abcdef0123";
  Make(token);
  EXPECT_EQ(Call("GET", "/v1/status", "", "Bearer " + token).status, 200);
  EXPECT_EQ(Call("GET", "/v1/status", "", "bearer " + token).status, 200);
  EXPECT_EQ(Call("GET", "/v1/status", "", "BEARER  " + token).status, 200);
  EXPECT_EQ(Call("GET", "/v1/status", "", "Bearer " + token + "x").status, 401);
  EXPECT_EQ(Call("GET", "/v1/status", "", "Bearer" + token).status, 401);
  EXPECT_EQ(Call("GET", "/v1/status", "", "Basic " + token).status, 401);
  EXPECT_EQ(Call("GET", "/v1/status").status, 401);
  EXPECT_EQ(Call("GET", "/v1/features/user/u1").status, 200);  // lookups stay open
}

TEST_F(FeatureApiTest, ReadyzSaysWhy) {
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
  // Stored state is served before the consumer group assigns anything.
  ingest_.assigned = false;
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
  ingest_.assigned = true;
  ingest_.ok = false;
  ingest_.snapshot.last_error = "a message is held: IOError: reading entity";
  auto r = Call("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("ingest: a message is held"), std::string::npos) << r.body;
}

// restore_until says which offset a restoring partition waits for, or that
// it waits for the partition's end, never a number nobody could reach.
TEST_F(FeatureApiTest, StatusShowsWhatARestoreWaitsFor) {
  PartitionStatus waiting_for_offset, waiting_for_end, serving;
  waiting_for_offset.tp = {"views", 0};
  waiting_for_offset.restore_until = 120;
  waiting_for_end.tp = {"views", 1};
  waiting_for_end.restore_until = PartitionStatus::kRestoreToPartitionEnd;
  serving.tp = {"views", 2};
  ingest_.snapshot.partitions = {waiting_for_offset, waiting_for_end, serving};
  auto status = nlohmann::json::parse(Call("GET", "/v1/status").body);
  ASSERT_EQ(status["assigned_partitions"].size(), 3u);
  EXPECT_EQ(status["assigned_partitions"][0]["restore_until"], 120);
  EXPECT_EQ(status["assigned_partitions"][1]["restore_until"], "partition_end");
  EXPECT_TRUE(status["assigned_partitions"][2]["restore_until"].is_null());
}

// An instance that never had a partition has nothing to serve yet.
TEST(FeatureApiReadinessTest, AFreshStoreWaitsForPartitions) {
  testing::TempDir dir;
  RocksDbStoreOptions store_options;
  store_options.path = dir.path();
  store_options.min_free_bytes = 0;
  auto store = std::move(*RocksDbStore::Open(store_options));
  auto set = std::make_unique<FeatureSet>(*FeatureSet::Compile(DefaultSpecs()));
  FakeIngest ingest;
  ingest.assigned = false;
  Metrics metrics("test");
  ManualClock clock(1);
  FeatureApiOptions options;
  options.version = "test";
  FeatureApi api(options, set.get(), store.get(), &ingest, &metrics, &clock);
  HttpRequest request;
  request.method = "GET";
  request.target = "/readyz";
  HttpResponse r = api.Handle(request);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("no partitions assigned yet, and no stored state"), std::string::npos) << r.body;
  ingest.assigned = true;
  EXPECT_EQ(api.Handle(request).status, 200);
}


// ?tiles=true: each windowed count's and sum's tiles, which add up to its
// value, aligned to its tile width and inside its window.
TEST_F(FeatureApiTest, TilesAddUpToTheirFeaturesValue) {
  auto plain = nlohmann::json::parse(Call("GET", "/v1/features/user/u1").body);
  EXPECT_FALSE(plain.contains("tiles"));
  auto r = Call("GET", "/v1/features/user/u1?tiles=true");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  ASSERT_TRUE(j["tiles"].is_object());
  ASSERT_TRUE(j["tiles"].contains("views_1h")) << j["tiles"].dump();
  for (const auto& [name, t] : j["tiles"].items()) {
    double total = 0;
    for (const auto& tile : t["values"]) {
      const int64_t start = tile[0].get<int64_t>();
      EXPECT_EQ(start % t["tile_ms"].get<int64_t>(), 0) << name;
      EXPECT_GT(start + t["tile_ms"].get<int64_t>(), j["as_of_ms"].get<int64_t>() - t["window_ms"].get<int64_t>()) << name;
      EXPECT_LE(start, j["as_of_ms"].get<int64_t>()) << name;
      total += tile[1].get<double>();
    }
    EXPECT_DOUBLE_EQ(total, j["features"][name].get<double>()) << name << ": " << t.dump();
  }
  EXPECT_FALSE(j["tiles"]["views_1h"]["values"].empty());
  // A ratio reads two other features, not a series: it has no tiles of its own.
  EXPECT_FALSE(j["tiles"].contains("ctr_24h")) << j["tiles"].dump();
  EXPECT_TRUE(j["features"].contains("ctr_24h"));
}

// The pages: the shell for each page the script draws, the script and the
// style sheet, with a policy that keeps every request on this origin; open
// even with a token (the data routes ask for it).
TEST_F(FeatureApiTest, PagesAreServedWithAPolicyThatKeepsThemOnTheirOrigin) {
  Make("secret-token-secret-token");
  for (const char* page : {"/ui", "/ui/", "/ui/models/ctr_ranker", "/ui/features"}) {
    auto r = Call("GET", page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << page;
    EXPECT_NE(r.body.find("<script src=\"/ui/app.js\">"), std::string::npos) << page;
    EXPECT_NE(r.content_security_policy.find("default-src 'none'"), std::string::npos) << page;
    EXPECT_NE(r.content_security_policy.find("connect-src 'self'"), std::string::npos) << page;
  }
  EXPECT_EQ(Call("GET", "/ui/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Call("GET", "/ui/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Call("GET", "/ui/models/a/b").status, 404);
  EXPECT_EQ(Call("GET", "/ui/nothing").status, 404);
  EXPECT_EQ(Call("POST", "/ui/").status, 405);
  EXPECT_EQ(Call("GET", "/v1/monitoring/models").status, 401) << "the data the pages draw keeps its token";
}

}  // namespace
}  // namespace featmon
