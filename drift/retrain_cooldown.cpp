#include "drift/retrain_cooldown.h"

namespace featmon::drift {

namespace {
constexpr char kEveryReason[] = "*";  // a model-wide cooldown restored from older state
}  // namespace

std::string RetrainReasonKey(const RetrainReason& r) { return std::string(SignalName(r.signal)) + "/" + r.feature; }

std::vector<RetrainReason> RetrainCooldown::Admit(std::vector<RetrainReason> reasons, int64_t event_time_ms,
                                                  bool* suppressed) {
  *suppressed = false;
  auto quiet = [&](const std::string& key) {
    auto it = until_ms_.find(key);
    return it != until_ms_.end() && event_time_ms < it->second;
  };
  std::vector<RetrainReason> admitted;
  for (RetrainReason& r : reasons) {
    const std::string key = RetrainReasonKey(r);
    if (quiet(kEveryReason) || quiet(key)) {
      *suppressed = true;
      continue;
    }
    until_ms_[key] = event_time_ms + cooldown_ms_;
    admitted.push_back(std::move(r));
  }
  // Forget quiet times that ended, so the state does not grow with history.
  for (auto it = until_ms_.begin(); it != until_ms_.end();) it = it->second <= event_time_ms ? until_ms_.erase(it) : std::next(it);
  return admitted;
}

nlohmann::json RetrainCooldown::Save() const { return until_ms_; }

Status RetrainCooldown::Load(const nlohmann::json& j) {
  until_ms_.clear();
  if (j.is_number_integer()) {
    until_ms_[kEveryReason] = j.get<int64_t>();
    return Status::Ok();
  }
  if (!j.is_object()) return Status::Corruption("retrain cooldowns: expected an object");
  for (const auto& [key, until] : j.items()) {
    if (!until.is_number_integer()) return Status::Corruption("retrain cooldown of '" + key + "'");
    until_ms_[key] = until.get<int64_t>();
  }
  return Status::Ok();
}

}  // namespace featmon::drift
