// The quiet time after a retrain request, kept per reason: a reason that
// asked for retraining asks again only after `cooldown`, while a different
// one (another feature drifting, calibration breaking after a detector's
// alarm) asks at once. One false alarm must not hide the next real one.
//
// A reason is named by its signal and feature ("data/age",
// "performance/calibration", "performance/adwin").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "drift/monitor_events.h"

namespace featmon::drift {

std::string RetrainReasonKey(const RetrainReason& r);

class RetrainCooldown {
 public:
  explicit RetrainCooldown(int64_t cooldown_ms) : cooldown_ms_(cooldown_ms) {}

  // The reasons not in their quiet time at this event time; their quiet time
  // starts now. The others are dropped (*suppressed says whether any was).
  std::vector<RetrainReason> Admit(std::vector<RetrainReason> reasons, int64_t event_time_ms, bool* suppressed);

  nlohmann::json Save() const;
  // Also reads the state of a model-wide cooldown (one integer), stored
  // before cooldowns were per reason: it then holds every reason.
  Status Load(const nlohmann::json& j);

 private:
  int64_t cooldown_ms_;
  std::map<std::string, int64_t> until_ms_;  // reason key -> end of its quiet time
};

}  // namespace featmon::drift
