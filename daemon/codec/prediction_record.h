// A decoded PredictionEvent: the join fields and what the monitor needs.
#pragma once

#include <string>

#include "drift/monitor_events.h"

namespace featmon {

struct PredictionRecord {
  std::string request_id, user_id, item_id;
  drift::Prediction prediction;
};

}  // namespace featmon
