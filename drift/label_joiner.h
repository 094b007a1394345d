// Labels from clicks. A prediction is positive when a click on the same item
// follows it within the attribution window (matched by request_id, or by
// user_id when the prediction has none); negative once the watermark passes
// the end of that window without one. A click labels one prediction: the
// latest one before it (last touch). A click that arrives before its
// prediction (the two topics are read at different paces) waits until the
// watermark passes it, under every key a prediction may look it up by (its
// request key and its user key), so a label never depends on which topic
// was read first.
//
// Labels mature in event-time order: a positive at its click's time, a
// negative at prediction time + window, ties by key, so a replay matures the
// same labels in the same order and the loss detectors see the same stream.
//
// Every change is recorded as a dirty key; the owner persists the entries of
// those keys (Encode) with the offsets that caused them, and restores them at
// start (Restore).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <functional>
#include <tuple>
#include <vector>

#include <absl/container/inlined_vector.h>
#include <absl/container/node_hash_map.h>

#include "common/status.h"
#include "common/string_map.h"
#include "drift/maturity_queue.h"
#include "drift/monitor_events.h"

namespace featmon::drift {

struct PendingLabel {
  std::string model, model_version;
  double score = 0;
  int64_t ts_ms = 0;
  int64_t click_ts_ms = -1;  // >= 0 once a click matched
  uint64_t tag = 0;          // the caller's, handed back in MaturedLabel; not persisted (featmond leaves it 0)
  std::string payload{};     // the caller's, handed back in MaturedLabel and persisted (featmond: the pending example)
};

// "r|<request_id>|<item_id>" or "u|<user_id>|<item_id>".
std::string JoinKeyByRequest(std::string_view request_id, std::string_view item_id);
std::string JoinKeyByUser(std::string_view user_id, std::string_view item_id);

// Where a key's pending predictions live (almost every key has one: a
// request's item), inline in one absl::InlinedVector per key. Heap bytes per
// pending label, key and maturity entry included (bench/drift_bench
// pending_labels_memory, glibc malloc; the same keys and labels packed in
// one vector take 207):
//   NodePendingMap: in the key's node, one allocation per key: 340 bytes
//     (324 MiB per 1M). featmond's monitor, which holds up to
//     monitoring.max_pending_labels.
//   FlatPendingMap: in the flat map's slot, so maturing a label reads no
//     other allocation, but 500 bytes (477 MiB per 1M). featmon-export,
//     which holds a window's worth: 7% less CPU (4 alternating triples).
using PendingList = absl::InlinedVector<PendingLabel, 1>;
using NodePendingMap = absl::node_hash_map<std::string, PendingList, StringViewHash, StringViewEq>;
using FlatPendingMap = StringMap<PendingList>;

template <typename PendingMap>
class BasicLabelJoiner {
 public:
  // kUntracked: for a caller that never persists (featmon-export's replay),
  // which would otherwise hold every key it ever touched until TakeDirty.
  enum class Persistence { kTracked, kUntracked };
  BasicLabelJoiner(int64_t attribution_window_ms, size_t max_pending, Persistence persistence = Persistence::kTracked)
      : window_ms_(attribution_window_ms), max_pending_(max_pending), track_dirty_(persistence == Persistence::kTracked) {}

  // False when the prediction is not tracked: too many pending labels. A
  // click that came first and now labels it is reported in *matched_click_ms
  // (else -1).
  bool AddPrediction(const std::string& key, PendingLabel p, int64_t* matched_click_ms = nullptr);
  // The prediction the click labels, if one is pending under any of `keys`;
  // else the click waits under each of them (at most two).
  std::optional<PendingLabel> AddClick(const std::vector<std::string>& keys, int64_t click_ts_ms);
  // Labels whose maturity time the watermark reached, in maturity order.
  std::vector<MaturedLabel> Advance(int64_t watermark_ms);

  size_t pending() const { return pending_count_; }

  // Persistence: keys changed since the last call; Encode(key) is the value
  // to store, or nullopt to delete it. Stored keys start with 'p' or 'c'.
  StringSet TakeDirty() { return std::exchange(dirty_, {}); }
  std::optional<std::string> Encode(const std::string& stored_key) const;
  Status Restore(std::string_view stored_key, std::string_view value);

 private:
  // A maturity in the queue; a pending label's entry goes stale when a click
  // moves its maturity earlier (a new entry is pushed; the old one is skipped
  // when it surfaces).
  struct Due {
    int64_t due_ms, prediction_ts_ms;
    std::string key;
    bool operator>(const Due& o) const {
      return std::tie(due_ms, key, prediction_ts_ms) > std::tie(o.due_ms, o.key, o.prediction_ts_ms);
    }
  };
  int64_t DueOf(const PendingLabel& p) const { return p.click_ts_ms >= 0 ? p.click_ts_ms : p.ts_ms + window_ms_; }
  void Schedule(const std::string& key, const PendingLabel& p);
  // kind: 'p' for a pending label's key, 'c' for a waiting click's.
  void MarkDirty(char kind, const std::string& key) {
    if (track_dirty_) dirty_.insert(kind + key);
  }

  int64_t window_ms_;
  size_t max_pending_;
  PendingMap pending_;  // by join key
  // A click waiting under a key; `partner` is the other key it waits under
  // ("" if none), where it is removed too once a prediction takes it.
  struct WaitingClick {
    int64_t ts_ms;
    std::string partner;
  };
  // Removes the waiting click at ts_ms under key (with its expiry entry): the
  // one whose partner is *partner_of when given, else the first at that time.
  bool RemoveWaitingClick(const std::string& key, int64_t ts_ms, const std::string* partner_of);

  StringMap<std::vector<WaitingClick>> clicks_;  // waiting clicks by join key
  // Not a priority_queue: its top cannot be moved from, and copying each key
  // out cost an allocation per label.
  MaturityQueue<Due> due_;
  std::multiset<std::pair<int64_t, std::string>> click_expiry_;  // one entry per waiting click and key
  size_t pending_count_ = 0;
  bool track_dirty_;
  StringSet dirty_;
};

using LabelJoiner = BasicLabelJoiner<NodePendingMap>;
using FlatLabelJoiner = BasicLabelJoiner<FlatPendingMap>;

}  // namespace featmon::drift
