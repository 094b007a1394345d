// A decoded PredictionEvent: the join fields and what the monitor needs.
#pragma once

#include <string>

#include "drift/monitor_events.h"
#include "features/event.h"

namespace featmon {

struct PredictionRecord {
  std::string request_id, user_id, item_id;
  drift::Prediction prediction;
};

// Every field a message sets back to its default, before a decoder reads
// one into a reused record (strings and vectors keep their capacity); the
// event's type and the prediction's sample_hash are not the message's.
inline void ClearMessageFields(Event* e) {
  e->event_id.clear();
  e->user_id.clear();
  e->item_id.clear();
  e->request_id.clear();
  e->category.clear();
  e->ts_ms = 0;
  e->value = 0;
}
inline void ClearMessageFields(PredictionRecord* r) {
  drift::Prediction& p = r->prediction;
  r->request_id.clear();
  r->user_id.clear();
  r->item_id.clear();
  p.model.clear();
  p.model_version.clear();
  p.score = 0;
  p.ts_ms = 0;
  p.features.clear();
  p.cat_features.clear();
}

}  // namespace featmon
