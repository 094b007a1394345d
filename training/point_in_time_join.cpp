#include "training/point_in_time_join.h"

#include <limits>

namespace featmon::training {

PointInTimeJoin::PointInTimeJoin(const FeatureSet* features, std::string model, int64_t attribution_window_ms,
                                 int64_t allowed_lateness_ms)
    : features_(features),
      engine_(features),
      model_(std::move(model)),
      joiner_(attribution_window_ms, std::numeric_limits<size_t>::max(), drift::FlatLabelJoiner::Persistence::kUntracked),
      lateness_ms_(allowed_lateness_ms) {}

bool PointInTimeJoin::MoveTo(int64_t ts_ms, std::vector<ExampleLabel>* labels) {
  if (ts_ms < replay_ms_) {
    ++counts_.out_of_order;
    return false;
  }
  replay_ms_ = ts_ms;
  // A click at ts_ms may still label a prediction whose window ends at ts_ms.
  Advance(ts_ms - 1 - lateness_ms_, labels);
  return true;
}

void PointInTimeJoin::Advance(int64_t watermark_ms, std::vector<ExampleLabel>* labels) {
  if (watermark_ms <= matured_to_ms_) return;
  matured_to_ms_ = watermark_ms;
  bool any = false;
  for (const drift::MaturedLabel& label : joiner_.Advance(watermark_ms)) {
    if (label.tag == 0 || label.tag < first_tag_) continue;  // another model's
    ExampleLabel& waiting = waiting_[label.tag - first_tag_];
    waiting.matured = true;
    waiting.clicked = label.clicked;
    waiting.click_ts_ms = label.click_ts_ms;
    any = true;
  }
  if (any) TakeCompleted(labels);
}

void PointInTimeJoin::Finish(int64_t watermark_ms, std::vector<ExampleLabel>* labels) {
  Advance(watermark_ms, labels);
  for (const ExampleLabel& label : waiting_) {
    labels->push_back(label);
    ++(label.matured ? counts_.examples : counts_.not_matured);
  }
  first_tag_ += waiting_.size();
  waiting_.clear();
}

void PointInTimeJoin::TakeCompleted(std::vector<ExampleLabel>* labels) {
  while (!waiting_.empty() && waiting_.front().matured) {
    labels->push_back(waiting_.front());
    waiting_.pop_front();
    ++first_tag_;
    ++counts_.examples;
  }
}

PointInTimeJoin::Entity& PointInTimeJoin::EntityOf(EntityKind kind, std::string_view id) {
  auto& entities = kind == EntityKind::kUser ? users_ : items_;
  auto [it, inserted] = entities.try_emplace(id);
  if (inserted) it->second.state = NewEntityState(*features_, kind);
  return it->second;
}

void PointInTimeJoin::AddEvent(const Event& event, std::vector<ExampleLabel>* labels) {
  MoveTo(event.ts_ms, labels);
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    if (features_->series(kind).empty() || event.EntityId(kind).empty()) continue;
    Entity& entity = EntityOf(kind, event.EntityId(kind));
    engine_.Apply(event, kind, &entity.state, nullptr, &entity.tails);
  }
  ++counts_.events;
  if (event.type != EventType::kClick) return;
  // The keys featmond's monitor matches a click under.
  std::vector<std::string> keys;
  if (!event.request_id.empty()) keys.push_back(drift::JoinKeyByRequest(event.request_id, event.item_id));
  keys.push_back(drift::JoinKeyByUser(event.user_id, event.item_id));
  (void)joiner_.AddClick(keys, event.ts_ms);  // what it labels comes out of Advance
}

const TrainingExample* PointInTimeJoin::AddPrediction(std::string_view request_id, std::string_view user_id,
                                                      std::string_view item_id, drift::Prediction&& p,
                                                      std::vector<ExampleLabel>* labels, bool in_range) {
  const bool in_order = MoveTo(p.ts_ms, labels);
  const std::string key = request_id.empty() ? drift::JoinKeyByUser(user_id, item_id)
                                             : drift::JoinKeyByRequest(request_id, item_id);
  drift::PendingLabel pending{p.model, p.model_version, p.score, p.ts_ms};
  if (p.model != model_ || !in_order || !in_range) {
    if (p.model != model_) ++counts_.other_models;
    else if (!in_range) ++counts_.out_of_range;
    (void)joiner_.AddPrediction(key, std::move(pending));  // never refused: no pending limit
    return nullptr;
  }
  ++counts_.predictions;
  waiting_.push_back({.ts_ms = p.ts_ms});
  pending.tag = first_tag_ + waiting_.size() - 1;
  (void)joiner_.AddPrediction(key, std::move(pending));
  TrainingExample& ex = example_;
  ex.ts_ms = p.ts_ms;
  ex.request_id = request_id;
  ex.user_id = user_id;
  ex.item_id = item_id;
  ex.model_version = p.model_version;
  ex.score = p.score;
  ex.logged_numeric.swap(p.features);
  ex.logged_categorical.swap(p.cat_features);
  // Strictly before the prediction: every event replayed so far is older
  // than ts_ms (this prediction precedes the events of its millisecond).
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    const std::string_view id = kind == EntityKind::kUser ? user_id : item_id;
    auto& entities = kind == EntityKind::kUser ? users_ : items_;
    std::vector<FeatureValue>& values = kind == EntityKind::kUser ? ex.user : ex.item;
    auto it = entities.find(id);
    if (it == entities.end()) values = engine_.Read(kind, {}, p.ts_ms - 1);
    else engine_.ReadWithTails(kind, it->second.state, p.ts_ms - 1, &it->second.tails, &values);
  }
  return &ex;
}

}  // namespace featmon::training
