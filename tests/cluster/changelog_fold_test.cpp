#include "cluster/changelog_fold.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace featmon::changelog {
namespace {

using Store = std::map<std::string, std::string>;

// A changelog partition: records at offsets 0, 1, ... (a removed one is a
// gap, as after compaction).
struct Log {
  std::vector<std::pair<int64_t, Record>> records;
  int64_t next = 0;
  void Append(Record r) { records.emplace_back(next++, std::move(r)); }
  void State(uint64_t writer, uint64_t seq, const std::string& key, std::optional<std::string> value) {
    Append(StateRecord{key, {writer, seq}, std::move(value)});
  }
  void Marker(uint64_t writer, uint64_t seq, int64_t input_offset) {
    Append(MarkerRecord{{writer, seq}, {{"views", input_offset, input_offset * 10}}});
  }
  void Claim(uint64_t writer, CommitId base) { Append(ClaimRecord{writer, base, "instance-" + std::to_string(writer)}); }
  // What Kafka's log cleaner leaves: each key's newest record.
  Log Compacted() const {
    std::map<std::string, int64_t> newest;
    for (const auto& [offset, r] : records) newest[RecordKey(r)] = offset;
    Log out;
    out.next = next;
    for (const auto& [offset, r] : records)
      if (newest[RecordKey(r)] == offset) out.records.emplace_back(offset, r);
    return out;
  }
};

// Folds `log` from `from_offset` into `store`, through the encoded form.
ChangelogFold Fold(const Log& log, Store* store, ChangelogFold fold = {}, int64_t from_offset = 0) {
  for (const auto& [offset, r] : log.records) {
    if (offset < from_offset) continue;
    auto decoded = DecodeRecord(RecordKey(r), RecordValue(r));
    EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
    fold.Apply(offset, std::move(*decoded));
    for (auto& w : fold.TakeWrites()) {
      if (w.state) (*store)[w.store_key] = *w.state;
      else store->erase(w.store_key);
    }
  }
  return fold;
}

TEST(ChangelogRecordTest, EveryRecordRoundTrips) {
  const Record records[] = {
      StateRecord{"user\0u1", {0xfeedfacecafebeefULL, 7}, std::string("state\0bytes", 11)},
      StateRecord{"item/i9", {3, 1}, std::nullopt},
      MarkerRecord{{3, 12}, {{"views", 100, 1700000000000}, {"clicks", -1, 0}}},
      ClaimRecord{9, {3, 12}, "featmond-1"},
  };
  for (const Record& r : records) {
    auto back = DecodeRecord(RecordKey(r), RecordValue(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(RecordKey(*back), RecordKey(r));
    EXPECT_EQ(RecordValue(*back), RecordValue(r));
  }
}

TEST(ChangelogRecordTest, DamagedRecordsAreCorruptionNotACrash) {
  const std::string key = RecordKey(ClaimRecord{9, {3, 12}, "featmond-1"});
  const std::string value = RecordValue(ClaimRecord{9, {3, 12}, "featmond-1"});
  for (size_t n = 0; n < value.size(); ++n) EXPECT_FALSE(DecodeRecord(key, value.substr(0, n)).ok()) << n;
  EXPECT_FALSE(DecodeRecord("", value).ok());
  EXPECT_FALSE(DecodeRecord("X", value).ok());
  EXPECT_FALSE(DecodeRecord(key, "\x02" + value.substr(1)).ok());  // a version this build does not know
  EXPECT_FALSE(DecodeRecord(RecordKey(ClaimRecord{0, {}, ""}), value).ok());
}

TEST(ChangelogFoldTest, StatesCountOnceTheirMarkerFollows) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.State(1, 1, "b", "b1");
  Store store;
  ChangelogFold fold = Fold(log, &store);
  EXPECT_TRUE(store.empty()) << "no marker yet";
  EXPECT_EQ(fold.RepairKeys(), (std::vector<std::string>{"a", "b"}));
  log.Marker(1, 1, 50);
  store.clear();
  fold = Fold(log, &store);
  EXPECT_EQ(store, (Store{{"a", "a1"}, {"b", "b1"}}));
  EXPECT_EQ(fold.head(), (CommitId{1, 1}));
  EXPECT_EQ(fold.head_checkpoints().at(0).next_offset, 50);
  EXPECT_TRUE(fold.RepairKeys().empty());
}

TEST(ChangelogFoldTest, ACommitCutShortByACrashNeverCounts) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.State(1, 2, "a", "a2");  // writer 1 is killed here
  log.Claim(2, {1, 1});
  log.State(2, 1, "a", "a1");  // the repair: a's newest record did not count
  log.State(2, 1, "b", "b1");
  log.Marker(2, 1, 20);
  Store store;
  ChangelogFold fold = Fold(log, &store);
  EXPECT_EQ(store, (Store{{"a", "a1"}, {"b", "b1"}}));
  EXPECT_EQ(fold.head(), (CommitId{2, 1}));
  EXPECT_EQ(fold.current_writer(), 2u);
  EXPECT_EQ(fold.ignored_records(), 1u);
  EXPECT_TRUE(fold.RepairKeys().empty());
}

TEST(ChangelogFoldTest, ClaimerReportsTheKeysToWriteAgain) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.State(1, 2, "a", "a2");
  log.State(1, 2, "c", "c2");
  Store store;
  ChangelogFold fold = Fold(log, &store);
  // What a new claimer finds: the state of commit (1,1), and a and c, whose
  // newest records will not count once it claims.
  EXPECT_EQ(store, (Store{{"a", "a1"}}));
  EXPECT_EQ(fold.RepairKeys(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(fold.head(), (CommitId{1, 1}));
}

TEST(ChangelogFoldTest, AZombieWritingAfterTheClaimIsIgnored) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.Claim(2, {1, 1});
  log.State(1, 2, "a", "zombie");  // writer 1 did not know yet
  log.Marker(1, 2, 11);
  {
    Store before;
    ChangelogFold fold = Fold(log, &before);
    EXPECT_EQ(fold.head(), (CommitId{1, 1})) << "the zombie's marker moved the head";
    EXPECT_EQ(fold.head_checkpoints().at(0).next_offset, 10);
    EXPECT_EQ(before, (Store{{"a", "a1"}}));
  }
  log.State(2, 1, "b", "b1");
  log.Marker(2, 1, 12);
  Store store;
  ChangelogFold fold = Fold(log, &store);
  EXPECT_EQ(store, (Store{{"a", "a1"}, {"b", "b1"}}));
  EXPECT_EQ(fold.head(), (CommitId{2, 1}));
  EXPECT_EQ(fold.head_checkpoints().at(0).next_offset, 12);
  // a's newest record is the zombie's: writer 2 must write it again.
  EXPECT_EQ(fold.RepairKeys(), (std::vector<std::string>{"a"}));
}

TEST(ChangelogFoldTest, AClaimBehindTheHeadIsRefused) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.State(1, 2, "a", "a2");
  log.Marker(1, 2, 20);
  log.Claim(2, {1, 1});  // restored before (1,2) landed
  log.State(1, 3, "a", "a3");
  log.Marker(1, 3, 30);
  Store store;
  ChangelogFold fold = Fold(log, &store);
  EXPECT_EQ(fold.refused_claims(), 1u);
  EXPECT_EQ(fold.current_writer(), 1u);
  EXPECT_EQ(store, (Store{{"a", "a3"}}));
  EXPECT_EQ(fold.head(), (CommitId{1, 3}));
}

TEST(ChangelogFoldTest, OfTwoClaimsOnTheSameHeadTheLaterHolds) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.Claim(2, {1, 1});
  log.Claim(3, {1, 1});  // both restored to (1,1); 3's came later
  log.State(2, 1, "a", "from-2");
  log.Marker(2, 1, 11);
  log.State(3, 1, "b", "from-3");
  log.Marker(3, 1, 12);
  Store store;
  ChangelogFold fold = Fold(log, &store);
  EXPECT_EQ(fold.current_writer(), 3u);
  EXPECT_EQ(store, (Store{{"a", "a1"}, {"b", "from-3"}}));
  EXPECT_EQ(fold.RepairKeys(), (std::vector<std::string>{"a"}));
}

TEST(ChangelogFoldTest, DeletesAreStateRecordsThatCountLikeAnyOther) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  log.State(1, 2, "a", std::nullopt);
  log.Marker(1, 2, 20);
  Store store;
  (void)Fold(log, &store);
  EXPECT_TRUE(store.empty());
}

TEST(ChangelogFoldTest, ATailRestoreFromLocalStateEndsWhereAFullOneDoes) {
  Log log;
  log.Claim(1, {});
  log.State(1, 1, "a", "a1");
  log.Marker(1, 1, 10);
  const int64_t local_marker_offset = log.next - 1;
  Store local;
  (void)Fold(log, &local);
  log.State(1, 2, "b", "b2");
  log.Marker(1, 2, 20);
  log.Claim(2, {1, 2});
  log.State(2, 1, "a", "a3");
  log.Marker(2, 1, 30);
  Store full;
  ChangelogFold f = Fold(log, &full);
  ChangelogFold t =
      Fold(log, &local, ChangelogFold({1, 1}, {{"views", 10, 100}}, 1), local_marker_offset + 1);
  EXPECT_EQ(local, full);
  EXPECT_EQ(t.head(), f.head());
  EXPECT_EQ(t.head_checkpoints(), f.head_checkpoints());
}

// Writers take the task one after another, as rebalances hand it over: each
// restores by folding the log, claims, commits, and ends cleanly, killed in
// the middle of a commit, or as a zombie that writes on after the next claim.
// Sometimes two claim on the same head, or one claims behind it. Every
// restore must equal the state of the commits that counted (the oracle), and
// so must a restore of the compacted log once the last writer has written
// its repair keys again.
TEST(ChangelogFoldTest, RandomHistoriesRestoreToTheCountedCommits) {
  for (unsigned seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
    auto key = [&] { return "k" + std::to_string(rng() % 12); };
    Log log;
    Store oracle;                // the state of the head
    int64_t oracle_input = 0;    // the head's checkpoint
    uint64_t next_writer = 1;
    for (int holder = 0; holder < 8; ++holder) {
      Store restored;
      ChangelogFold fold = Fold(log, &restored);
      ASSERT_EQ(restored, oracle) << "seed " << seed << " holder " << holder;
      const int64_t restored_input = fold.head_checkpoints().empty() ? 0 : fold.head_checkpoints()[0].next_offset;
      ASSERT_EQ(restored_input, oracle_input) << "seed " << seed;
      const uint64_t writer = next_writer++;
      if (chance(15)) log.Claim(next_writer++, fold.head());  // a rival on the same head, never writing
      if (chance(10) && fold.head().seq > 1) log.Claim(next_writer++, {fold.head().writer, fold.head().seq - 1});
      log.Claim(writer, fold.head());
      // The claimer reads past its own claim to see whether it held.
      Store ignored;
      if (Fold(log, &ignored).current_writer() != writer) continue;  // it lost: the next holder restores
      Store state = restored;
      std::vector<std::string> repair = fold.RepairKeys();
      const int commits = 1 + static_cast<int>(rng() % 3);
      const int ending = static_cast<int>(rng() % 3);  // 0 clean, 1 killed mid-commit, 2 zombie
      int64_t input = restored_input;
      for (int c = 1; c <= commits; ++c) {
        for (const std::string& k : repair) {
          auto it = state.find(k);
          log.State(writer, c, k, it == state.end() ? std::nullopt : std::optional<std::string>(it->second));
        }
        repair.clear();
        for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
          const std::string k = key();
          if (chance(15)) {
            state.erase(k);
            log.State(writer, c, k, std::nullopt);
          } else {
            state[k] = "w" + std::to_string(writer) + "c" + std::to_string(c) + "r" + std::to_string(rng() % 1000);
            log.State(writer, c, k, state[k]);
          }
        }
        input += 1 + static_cast<int64_t>(rng() % 50);
        log.Marker(writer, c, input);
        oracle = state;
        oracle_input = input;
      }
      if (ending == 1) log.State(writer, commits + 1, key(), "torn");
      if (ending == 2) {
        // The group moves the task while this writer is slow: the successor
        // claims, and the two write interleaved until this one notices.
        Store successor_state;
        ChangelogFold next = Fold(log, &successor_state);
        ASSERT_EQ(successor_state, oracle) << "seed " << seed;
        const uint64_t successor = next_writer++;
        log.Claim(successor, next.head());
        std::vector<std::string> successor_repair = next.RepairKeys();
        int64_t successor_input = oracle_input;
        for (uint64_t c = 1; c <= 3; ++c) {
          for (const std::string& k : successor_repair) {
            auto it = successor_state.find(k);
            log.State(successor, c, k, it == successor_state.end() ? std::nullopt : std::optional<std::string>(it->second));
          }
          for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
            const std::string k = key();
            successor_state[k] = "s" + std::to_string(successor) + "c" + std::to_string(c);
            log.State(successor, c, k, successor_state[k]);
            if (chance(50)) log.State(writer, commits + c, key(), "zombie");
          }
          if (chance(30)) log.Marker(writer, commits + c, input + 1000);
          successor_input += 1 + static_cast<int64_t>(rng() % 50);
          log.Marker(successor, c, successor_input);
          oracle = successor_state;
          oracle_input = successor_input;
          // The successor's check of the records between its own: the
          // zombie's keys are written again in its next commit.
          Store ignored;
          successor_repair = Fold(log, &ignored).RepairKeys();
        }
      }
    }
    // A last writer, whose first commit writes the repair keys again, after
    // which compaction cannot lose a state that counts.
    Store restored;
    ChangelogFold fold = Fold(log, &restored);
    ASSERT_EQ(restored, oracle) << "seed " << seed;
    const uint64_t last = next_writer++;
    log.Claim(last, fold.head());
    for (const std::string& k : fold.RepairKeys()) {
      auto it = restored.find(k);
      log.State(last, 1, k, it == restored.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
    log.Marker(last, 1, oracle_input);
    Store full, compacted;
    ChangelogFold f = Fold(log, &full);
    ASSERT_TRUE(f.RepairKeys().empty()) << "seed " << seed;
    ChangelogFold c = Fold(log.Compacted(), &compacted);
    EXPECT_EQ(full, oracle) << "seed " << seed;
    EXPECT_EQ(compacted, oracle) << "seed " << seed;
    EXPECT_EQ(c.head(), f.head()) << "seed " << seed;
    // A standby stores its position only where its fold is settled; a fold
    // that starts again there (after a restart) must end as the full one.
    int resumed = 0;
    for (size_t cut = 1; cut < log.records.size(); ++cut) {
      Log prefix;
      prefix.records.assign(log.records.begin(), log.records.begin() + static_cast<std::ptrdiff_t>(cut));
      Store standby;
      ChangelogFold before = Fold(prefix, &standby);
      if (!before.settled()) continue;
      ++resumed;
      ChangelogFold after = Fold(log, &standby, ChangelogFold(before.head(), before.head_checkpoints(),
                                                              before.current_writer()),
                                 log.records[cut].first);
      ASSERT_EQ(standby, full) << "seed " << seed << " cut " << cut;
      ASSERT_EQ(after.head(), f.head()) << "seed " << seed << " cut " << cut;
      ASSERT_EQ(after.current_writer(), f.current_writer()) << "seed " << seed << " cut " << cut;
    }
    EXPECT_GT(resumed, 0) << "seed " << seed;
  }
}

// Settled: a position a standby may store. Not while the current writer's
// records wait for their marker, nor while a cut-short record is a key's
// newest (a fold started afresh would not know to distrust it).
TEST(ChangelogFoldTest, SettledOnlyWithNothingPendingOrRefused) {
  Log log;
  log.Claim(1, {});
  ChangelogFold fold;
  Store store;
  fold = Fold(log, &store);
  EXPECT_TRUE(fold.settled());
  log.State(1, 1, "a", "a1");
  fold = Fold(log, &store);
  EXPECT_FALSE(fold.settled());  // pending
  log.Marker(1, 1, 10);
  fold = Fold(log, &store);
  EXPECT_TRUE(fold.settled());
  log.State(1, 2, "b", "torn");
  log.Claim(2, {1, 1});  // the writer crashed mid-commit
  fold = Fold(log, &store);
  EXPECT_FALSE(fold.settled());  // "b"'s newest record does not count
  log.State(2, 1, "b", std::nullopt);
  log.Marker(2, 1, 20);
  fold = Fold(log, &store);
  EXPECT_TRUE(fold.settled());
}

}  // namespace
}  // namespace featmon::changelog
