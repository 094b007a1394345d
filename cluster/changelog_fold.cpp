#include "cluster/changelog_fold.h"

#include <set>

namespace featmon::changelog {

ChangelogFold::ChangelogFold(CommitId head, std::vector<SourceCheckpoint> head_checkpoints, uint64_t current_writer)
    : head_(head), head_checkpoints_(std::move(head_checkpoints)), current_(current_writer) {}

void ChangelogFold::Apply(int64_t offset, Record record) {
  if (auto* state = std::get_if<StateRecord>(&record)) {
    if (current_ != 0 && state->commit.writer == current_) {
      pending_.push_back({offset, std::move(*state)});
    } else {
      Refuse(state->store_key, offset);
    }
    return;
  }
  if (const auto* marker = std::get_if<MarkerRecord>(&record)) {
    const bool advances = head_.writer != current_ || marker->commit.seq > head_.seq;
    if (current_ == 0 || marker->commit.writer != current_ || !advances) {
      ++ignored_;
      return;
    }
    std::vector<Pending> later;
    for (Pending& p : pending_) {
      if (p.record.commit.seq <= marker->commit.seq) Count(std::move(p));
      else later.push_back(std::move(p));
    }
    pending_ = std::move(later);
    head_ = marker->commit;
    head_checkpoints_ = marker->checkpoints;
    return;
  }
  const auto& claim = std::get<ClaimRecord>(record);
  if (claim.writer == 0 || claim.writer == current_ || claim.base != head_) {
    ++refused_claims_;
    return;
  }
  // The previous writer's records after the head were cut short.
  for (const Pending& p : pending_) Refuse(p.record.store_key, p.offset);
  pending_.clear();
  current_ = claim.writer;
}

void ChangelogFold::Refuse(const std::string& store_key, int64_t offset) {
  ++ignored_;
  refused_newest_[store_key] = offset;
}

void ChangelogFold::Count(Pending p) {
  auto refused = refused_newest_.find(p.record.store_key);
  if (refused != refused_newest_.end() && refused->second < p.offset) refused_newest_.erase(refused);
  ++counted_states_;
  writes_.push_back({std::move(p.record.store_key), std::move(p.record.state)});
}

std::vector<ChangelogFold::Write> ChangelogFold::TakeWrites() {
  std::vector<Write> out;
  out.swap(writes_);
  return out;
}

std::vector<std::string> ChangelogFold::RepairKeys() const {
  std::set<std::string> keys;
  for (const auto& [key, offset] : refused_newest_) keys.insert(key);
  for (const Pending& p : pending_) keys.insert(p.record.store_key);
  return {keys.begin(), keys.end()};
}

}  // namespace featmon::changelog
