// Labeled training examples from a replay of the logs, as featmond would
// have labelled them and with the features as they were just before each
// prediction (point in time, no leakage).
//
// The caller feeds views, clicks and predictions in event-time order, a
// prediction before the events of its own millisecond. Each prediction of
// the exported model becomes an example, handed out by AddPrediction at
// once: the features it logged, and every user and item feature of the
// config read from the events strictly before it (FeatureEngine, the code
// featmond runs). Its label comes later: featmond's rule
// (drift::LabelJoiner), a click on the same item within the attribution
// window, matched by request_id, or by user when the prediction has none.
// Every model's predictions take part in the matching, as in featmond, so a
// click labels the same prediction here and there.
//
// Labels come out in the order the examples did, one per example, once it
// has matured (a click, or the watermark past the window's end); a label
// waits at most one attribution window for the ones before it. So a caller
// writes each example as it comes, while its features are in cache, and
// pairs the labels with them first in, first out, holding nothing per
// prediction. The watermark follows the replay less `allowed_lateness_ms`,
// as featmond's monitor's follows its partitions, so a label matures here
// when it would there (the outcome never depends on it: a click counts only
// within the window).
// Memory: one state per user and item; per prediction within a window, the
// label join's entry and, for the exported model's, a 24-byte label slot.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/string_map.h"

#include "drift/label_joiner.h"
#include "drift/monitor_events.h"
#include "features/feature_engine.h"

namespace featmon::training {

// One exported prediction, as AddPrediction hands it out.
struct TrainingExample {
  int64_t ts_ms = 0;
  std::string request_id, user_id, item_id, model_version;
  double score = 0;
  std::vector<std::pair<std::string, double>> logged_numeric;          // as the prediction carried them
  std::vector<std::pair<std::string, std::string>> logged_categorical;
  std::vector<FeatureValue> user, item;  // parallel to FeatureSet::features(kUser), (kItem)
};

// What became of an example's label, handed out in the order the examples
// were.
struct ExampleLabel {
  int64_t ts_ms = 0;         // the example's: a caller pairing labels with examples checks it
  bool matured = false;      // false: not by Finish's watermark; the example is not exported
  bool clicked = false;
  int64_t click_ts_ms = -1;  // the click that made it positive; -1 for a negative
};

struct JoinCounts {
  uint64_t events = 0;            // views and clicks applied
  uint64_t predictions = 0;       // of the exported model
  uint64_t other_models = 0;      // predictions of other models (they still compete for clicks)
  // Records older than one already replayed. Such an event is applied (later
  // predictions see it); such a prediction is not exported, since events at
  // or after it have been applied already, but still takes part in matching.
  uint64_t out_of_order = 0;
  uint64_t out_of_range = 0;      // of the exported model, but outside the caller's time range
  uint64_t examples = 0;          // whose labels matured
  uint64_t not_matured = 0;       // of the exported model, still unlabelled at Finish
};

class PointInTimeJoin {
 public:
  PointInTimeJoin(const FeatureSet* features, std::string model, int64_t attribution_window_ms,
                  int64_t allowed_lateness_ms = 0);

  // Labels that matured before the record's time go to `labels` (each
  // record implies an Advance to its time less 1 ms less the allowed
  // lateness); they belong to examples handed out before.
  void AddEvent(const Event& event, std::vector<ExampleLabel>* labels);
  // The prediction's example when it is exported, valid until the next call;
  // nullptr for another model's prediction, one out of event-time order, or
  // one the caller does not want (`in_range` false: outside
  // --from-ms/--to-ms). All of them take part in matching. The prediction's
  // logged features are swapped into the example: `prediction` gets the
  // example's previous vectors, whose capacity a caller decoding into it
  // again reuses.
  const TrainingExample* AddPrediction(std::string_view request_id, std::string_view user_id,
                                       std::string_view item_id, drift::Prediction&& prediction,
                                       std::vector<ExampleLabel>* labels, bool in_range = true);
  // Matures the labels due at or before `watermark_ms` and hands out those
  // whose earlier ones are out too.
  void Advance(int64_t watermark_ms, std::vector<ExampleLabel>* labels);
  // The end of the replay: Advance to `watermark_ms`, then hand out every
  // label still held, those not matured (counted) with `matured` false.
  void Finish(int64_t watermark_ms, std::vector<ExampleLabel>* labels);

  const JoinCounts& counts() const { return counts_; }
  // Labels waiting to mature, or for an earlier one to.
  size_t waiting() const { return waiting_.size(); }
  size_t entities() const { return users_.size() + items_.size(); }

 private:
  // The replay moves to ts_ms: labels due before it mature. False (and
  // counted) when ts_ms is older than the replay.
  bool MoveTo(int64_t ts_ms, std::vector<ExampleLabel>* labels);
  void TakeCompleted(std::vector<ExampleLabel>* labels);
  // An entity's state and its window tails, which make reading it at every
  // prediction cost about a lookup (features/window_tails.h).
  struct Entity {
    EntityState state;
    WindowTails tails;
  };
  Entity& EntityOf(EntityKind kind, std::string_view id);

  const FeatureSet* features_;
  FeatureEngine engine_;
  std::string model_;
  drift::FlatLabelJoiner joiner_;  // the fast layout: it holds one window's predictions
  StringMap<Entity> users_, items_;
  std::deque<ExampleLabel> waiting_;  // in prediction order; waiting_[0] has tag first_tag_
  TrainingExample example_;           // the last one handed out; its vectors keep their capacity
  uint64_t first_tag_ = 1;       // tags start at 1: 0 marks other models' predictions
  int64_t lateness_ms_;
  int64_t replay_ms_ = INT64_MIN;
  int64_t matured_to_ms_ = INT64_MIN;
  JoinCounts counts_;
};

}  // namespace featmon::training
