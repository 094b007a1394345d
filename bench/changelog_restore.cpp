// The changelog restore rate (issue 13): tasks' changelog partitions
// written through TaskChangelog as commits of entity states, then restored
// by a new claimer (read, folded, written to RocksDB in WriteBatches of
// 4,096 as a restoring store would), beside a plain librdkafka read of the
// same partitions in the same run, in the same order, and a restore that
// folds without storing. Last, the way featmond restores an assigned task:
// every task's partition followed at once by a ChangelogFollower, folded,
// and written in one WriteBatch per step of 20,000 records, the ingest
// loop's step. In one process with librdkafka's mock cluster,
// which keeps about 5 MiB per partition, so each task holds under that.
//
//   changelog_restore [TASKS=8] [ENTITIES_PER_TASK=12000] [STATE_BYTES=300]
// STATE_BYTES stands for an encoded entity state (the default features'
// user states are 200 to 600 bytes).
#include <librdkafka/rdkafka.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "daemon/kafka/changelog_follower.h"
#include "daemon/kafka/embedded_broker.h"
#include "daemon/kafka/task_changelog.h"

namespace {
using featmon::Status;
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "changelog_restore: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

// A plain read of the partitions as a restore reads them, one after
// another, each by a consumer of its own (started within the time, as the
// restore's are), nothing done per record: records and bytes.
std::pair<long, long> PlainRead(const std::string& brokers, const std::string& topic, int tasks, long per_task) {
  long n = 0, bytes = 0;
  for (int p = 0; p < tasks; ++p) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "plain-reference", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = 0;  // as the restore assigns
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    long here = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (here < per_task && Clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      if (!m->err) {
        ++here;
        bytes += static_cast<long>(m->len + m->key_len);
      }
      rd_kafka_message_destroy(m);
    }
    n += here;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
  return {n, bytes};
}
}  // namespace

int main(int argc, char** argv) {
  const int tasks = argc > 1 ? std::atoi(argv[1]) : 8;
  const int entities = argc > 2 ? std::atoi(argv[2]) : 12000;
  const size_t state_bytes = argc > 3 ? static_cast<size_t>(std::atol(argv[3])) : 300;
  const std::string topic = "bench.changelog";
  auto broker = featmon::EmbeddedBroker::Start({1, tasks, {topic}});
  if (!broker.ok()) Die("starting the mock cluster", broker.status());
  featmon::KafkaClientOptions options;
  options.brokers = (*broker)->bootstrap();
  auto changelog = featmon::ChangelogTopic::Open(options, topic);
  if (!changelog.ok()) Die("opening the changelog", changelog.status());

  // Write: per task, commits of 1,000 states each, every entity once.
  std::mt19937_64 rng(1);
  std::string state(state_bytes, '\0');
  for (char& c : state) c = static_cast<char>(rng());
  auto write_start = Clock::now();
  featmon::ChangelogRestoreStats ignored;
  auto no_store = [](std::vector<featmon::changelog::ChangelogFold::Write>) { return Status::Ok(); };
  for (int t = 0; t < tasks; ++t) {
    auto writer = featmon::TaskChangelog::Claim(changelog->get(), t, {}, 0, "bench", no_store, &ignored);
    if (!writer.ok()) Die("claiming", writer.status());
    for (int first = 0; first < entities; first += 1000) {
      std::vector<featmon::changelog::StateRecord> states;
      for (int e = first; e < std::min(entities, first + 1000); ++e) {
        state[0] = static_cast<char>(e);
        states.push_back({"u" + std::to_string(t) + "-" + std::to_string(e), {}, state});
      }
      if (Status st = (*writer)->Commit(std::move(states), {{"views", first, first}}); !st.ok()) Die("committing", st);
    }
  }
  const double write_s = Since(write_start);
  const long total = static_cast<long>(tasks) * entities;

  // Reference: a plain read of the same partitions.
  // Each partition holds its claim, its entities and a marker per commit.
  const long per_task = 1 + entities + (entities + 999) / 1000;
  auto plain_start = Clock::now();
  auto [plain_n, plain_bytes] = PlainRead(options.brokers, topic, tasks, per_task);
  const double plain_s = Since(plain_start);

  // Restores: folding only, then folding and storing in RocksDB.
  auto restore = [&](bool store) {
    const std::string dir = "/tmp/featmon-changelog-restore-bench";
    std::filesystem::remove_all(dir);
    rocksdb::DB* db = nullptr;
    rocksdb::Options o;
    o.create_if_missing = true;
    if (store && !rocksdb::DB::Open(o, dir, &db).ok()) Die("opening RocksDB", Status::IOError(dir));
    featmon::ChangelogRestoreStats stats, sum;
    auto start = Clock::now();
    for (int t = 0; t < tasks; ++t) {
      stats = {};
      auto held = featmon::TaskChangelog::Claim(
          changelog->get(), t, {}, 0, "bench-restore",
          [&](std::vector<featmon::changelog::ChangelogFold::Write> writes) {
            if (!store) return Status::Ok();
            rocksdb::WriteBatch wb;
            for (auto& w : writes) {
              if (w.state) wb.Put(w.store_key, *w.state).PermitUncheckedError();
              else wb.Delete(w.store_key).PermitUncheckedError();
            }
            auto s = db->Write(rocksdb::WriteOptions(), &wb);
            return s.ok() ? Status::Ok() : Status::IOError(s.ToString());
          },
          &stats);
      if (!held.ok()) Die("restoring", held.status());
      sum.states += stats.states;
      sum.bytes += stats.bytes;
      sum.records += stats.records;
    }
    const double s = Since(start);
    delete db;
    std::filesystem::remove_all(dir);
    return std::make_tuple(s, sum);
  };
  // In the background, as featmond's ingest worker restores: all tasks
  // followed at once, each step's states in one WriteBatch.
  auto follow = [&]() {
    const std::string dir = "/tmp/featmon-changelog-follow-bench";
    std::filesystem::remove_all(dir);
    rocksdb::DB* db = nullptr;
    rocksdb::Options o;
    o.create_if_missing = true;
    if (!rocksdb::DB::Open(o, dir, &db).ok()) Die("opening RocksDB", Status::IOError(dir));
    auto start = Clock::now();
    auto follower = featmon::ChangelogFollower::Open(options, topic);
    if (!follower.ok()) Die("opening the follower", follower.status());
    std::map<int32_t, int64_t> from;
    std::map<int32_t, featmon::changelog::ChangelogFold> folds;
    for (int t = 0; t < tasks; ++t) from[t] = 0;
    if (Status st = (*follower)->Follow(from); !st.ok()) Die("following", st);
    featmon::ChangelogRestoreStats sum;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (sum.records < static_cast<uint64_t>(tasks * per_task) && Clock::now() < deadline) {
      rocksdb::WriteBatch wb;
      Status st = (*follower)->Poll(20'000, 10, [&](int32_t task, int64_t offset, featmon::changelog::Record record,
                                                   size_t bytes) {
        ++sum.records;
        sum.bytes += bytes;
        auto& fold = folds[task];
        fold.Apply(offset, std::move(record));
        for (auto& w : fold.TakeWrites()) {
          ++sum.states;
          if (w.state) wb.Put(w.store_key, *w.state).PermitUncheckedError();
          else wb.Delete(w.store_key).PermitUncheckedError();
        }
        return Status::Ok();
      });
      if (!st.ok()) Die("following", st);
      if (wb.Count() > 0 && !db->Write(rocksdb::WriteOptions(), &wb).ok()) Die("writing", Status::IOError(dir));
    }
    const double s = Since(start);
    delete db;
    std::filesystem::remove_all(dir);
    return std::make_tuple(s, sum);
  };
  auto [fold_s, fold_stats] = restore(false);
  auto [store_s, store_stats] = restore(true);
  auto [follow_s, follow_stats] = follow();
  if (store_stats.states != static_cast<uint64_t>(total) || follow_stats.states != static_cast<uint64_t>(total) ||
      plain_n < tasks * per_task) {
    std::fprintf(stderr, "changelog_restore: restored %llu states and read %ld records of %ld: the broker dropped "
                         "some (keep each task under 5 MiB)\n",
                 static_cast<unsigned long long>(store_stats.states), plain_n, total);
    return 1;
  }
  const double mb = 1024.0 * 1024.0;
  std::printf("\n| changelog restore (%d tasks, %ld entities of %zu bytes, %.1f MiB) | entities/s | MiB/s | of plain read |\n",
              tasks, total, state_bytes, static_cast<double>(store_stats.bytes) / mb);
  std::printf("|---|---|---|---|\n");
  std::printf("| plain librdkafka read of the same partitions, one after another | %.0f records/s | %.1f | 1.00 |\n", plain_n / plain_s,
              static_cast<double>(plain_bytes) / mb / plain_s);
  std::printf("| restore: read, fold, no store | %.0f | %.1f | %.2f |\n", total / fold_s,
              static_cast<double>(fold_stats.bytes) / mb / fold_s, plain_s / fold_s);
  std::printf("| restore: read, fold, RocksDB WriteBatches | %.0f | %.1f | %.2f |\n", total / store_s,
              static_cast<double>(store_stats.bytes) / mb / store_s, plain_s / store_s);
  std::printf("| restore in the background (featmond's): all tasks followed at once, a WriteBatch per 20,000 records | %.0f | %.1f | %.2f |\n",
              total / follow_s, static_cast<double>(follow_stats.bytes) / mb / follow_s, plain_s / follow_s);
  std::printf("| (writing it: commits of 1,000 states) | %.0f | | |\n", total / write_s);
  return 0;
}
