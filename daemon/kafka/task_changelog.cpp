#include "daemon/kafka/task_changelog.h"

#include <random>

namespace featmon {

namespace {
constexpr size_t kStoreBatch = 4096;  // restored states handed to the store at once
constexpr int kMaxClaims = 10;

uint64_t NewWriterId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) | rd();
  return id;
}
}  // namespace

Result<std::unique_ptr<TaskChangelog>> TaskChangelog::Claim(ChangelogTopic* topic, int32_t task,
                                                            changelog::ChangelogFold fold, int64_t from,
                                                            std::string owner, const Store& store,
                                                            ChangelogRestoreStats* stats) {
  const uint64_t writer = NewWriterId();
  auto bounds = topic->Bounds(task);
  if (!bounds.ok()) return bounds.status();
  int64_t end = bounds->second;
  stats->from = from;
  std::vector<changelog::ChangelogFold::Write> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    stats->states += batch.size();
    Status st = store(std::move(batch));
    batch.clear();
    return st;
  };
  auto visit = [&](int64_t offset, changelog::Record record, size_t bytes) -> Status {
    ++stats->records;
    stats->bytes += bytes;
    fold.Apply(offset, std::move(record));
    for (auto& w : fold.TakeWrites()) batch.push_back(std::move(w));
    return batch.size() >= kStoreBatch ? flush() : Status::Ok();
  };
  if (Status st = topic->Read(task, from, end, visit); !st.ok()) return st;
  for (int attempt = 0; attempt < kMaxClaims; ++attempt) {
    auto offsets = topic->Append(task, {changelog::ClaimRecord{writer, fold.head(), owner}});
    if (!offsets.ok()) return offsets.status();
    const int64_t claim_offset = offsets->front();
    // Whatever landed since the read, then the claim itself.
    if (Status st = topic->Read(task, end, claim_offset + 1, visit); !st.ok()) return st;
    if (fold.current_writer() == writer) {
      if (Status st = flush(); !st.ok()) return st;
      stats->to = claim_offset + 1;
      std::unique_ptr<TaskChangelog> held(new TaskChangelog(topic, task, std::move(fold), writer));
      held->last_offset_ = claim_offset;
      return held;
    }
    end = claim_offset + 1;
  }
  return Status::Unavailable("task " + std::to_string(task) + ": " + std::to_string(kMaxClaims) + " claims on " +
                             topic->name() + " did not hold; another instance is writing this task");
}

Status TaskChangelog::FoldOthers(int64_t from, int64_t to) {
  return topic_->Read(task_, from, to, [&](int64_t offset, changelog::Record record, size_t) {
    fold_.Apply(offset, std::move(record));
    return Status::Ok();
  });
}

Status TaskChangelog::Commit(std::vector<changelog::StateRecord> states,
                             std::vector<changelog::SourceCheckpoint> checkpoints) {
  const std::string where = topic_->name() + "/" + std::to_string(task_);
  if (taken_over_) return Status::Unavailable(where + " was taken over by another instance");
  // A fresh seq per attempt: records of an attempt that failed may still
  // land, before this one's, and count with it (they hold the same states).
  const changelog::CommitId commit{writer_, ++attempts_};
  std::vector<changelog::Record> records;
  records.reserve(states.size() + 1);
  for (changelog::StateRecord& s : states) {
    s.commit = commit;
    records.emplace_back(std::move(s));
  }
  records.emplace_back(changelog::MarkerRecord{commit, std::move(checkpoints)});
  auto offsets = topic_->Append(task_, records);
  if (!offsets.ok()) return offsets.status();
  int64_t expected = last_offset_ + 1;
  for (size_t i = 0; i < records.size(); ++i) {
    const int64_t offset = (*offsets)[i];
    if (offset != expected)
      if (Status st = FoldOthers(expected, offset); !st.ok()) return st;
    // Its own states are folded without their bytes: only their keys matter here.
    if (auto* s = std::get_if<changelog::StateRecord>(&records[i])) fold_.Apply(offset, changelog::StateRecord{std::move(s->store_key), commit, std::nullopt});
    else fold_.Apply(offset, std::move(records[i]));
    expected = offset + 1;
  }
  (void)fold_.TakeWrites();
  last_offset_ = offsets->back();
  if (fold_.current_writer() != writer_) {
    taken_over_ = true;
    return Status::Unavailable(where + " was taken over: another instance's claim holds, so this commit does not count");
  }
  return Status::Ok();
}

}  // namespace featmon
