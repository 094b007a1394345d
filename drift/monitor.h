// Every model seen on the predictions topic, each a ModelMonitor with the
// options configured for it (or the defaults); the persistence of each
// model's state as one value. Models named in the config always have a slot;
// the others share max_models, and a model whose every version expired
// (unseen for version_ttl) is removed, so names that appear once cannot hold
// the slots for good.
//
//   Monitor monitor(defaults, per_model, max_models);
//   monitor.Observe(prediction);
//   EvaluationOutput out = monitor.AdvanceWatermark(watermark_ms);
//
// Thread-safety: none; one owner drives it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "drift/model_monitor.h"
#include "drift/monitor_events.h"
#include "drift/monitor_options.h"

namespace featmon::drift {

class Monitor {
 public:
  Monitor(MonitorOptions defaults, std::map<std::string, MonitorOptions> per_model, size_t max_models);
  ~Monitor();
  Monitor(const Monitor&) = delete;  // models point at the options held here
  Monitor& operator=(const Monitor&) = delete;

  // Returns false when the prediction was not tracked (too many models).
  bool Observe(const Prediction& p);
  // A click attributed to a prediction of this model version, at click time.
  void OnClickAttributed(const std::string& model, const std::string& version, int64_t click_ts_ms);
  // False when the label's model is not tracked (any more).
  bool OnLabel(const MaturedLabel& label);
  // Runs every evaluation whose boundary the watermark passed. Labels that
  // mature before a boundary belong before its evaluation: a caller whose
  // watermark jumps over several boundaries steps through them with
  // NextEvaluationMs, feeding labels in between.
  EvaluationOutput AdvanceWatermark(int64_t watermark_ms);
  // The earliest evaluation boundary of any version; INT64_MAX when none.
  int64_t NextEvaluationMs() const;

  const MonitorOptions& OptionsFor(const std::string& model) const;
  std::vector<std::string> Models() const;
  bool Has(const std::string& model) const { return models_.count(model) > 0; }
  // The report of one model, or of all (GET /v1/monitoring/models[/{model}]).
  std::optional<nlohmann::json> Report(const std::string& model) const;
  nlohmann::json ReportAll() const;

  // Persistence: one value per model.
  std::string SerializeModel(const std::string& model) const;
  Status RestoreModel(const std::string& model, std::string_view bytes);
  std::set<std::string> TakeChangedModels();
  uint64_t dropped_models() const { return dropped_models_; }

 private:
  ModelMonitor* Find(const std::string& model, bool create);
  bool Configured(const std::string& model) const { return per_model_.count(model) > 0; }
  MonitorOptions defaults_;
  std::map<std::string, MonitorOptions> per_model_;
  size_t max_models_;       // models not named in per_model_
  size_t unconfigured_ = 0;  // of models_, those not named in per_model_
  std::map<std::string, std::unique_ptr<ModelMonitor>> models_;
  std::set<std::string> changed_;
  uint64_t dropped_models_ = 0;
};

}  // namespace featmon::drift
