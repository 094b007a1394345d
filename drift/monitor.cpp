#include "drift/monitor.h"

#include <limits>

namespace featmon::drift {

using json = nlohmann::json;

Monitor::Monitor(MonitorOptions defaults, std::map<std::string, MonitorOptions> per_model, size_t max_models)
    : defaults_(std::move(defaults)), per_model_(std::move(per_model)), max_models_(max_models) {}
Monitor::~Monitor() = default;

const MonitorOptions& Monitor::OptionsFor(const std::string& model) const {
  auto it = per_model_.find(model);
  return it != per_model_.end() ? it->second : defaults_;
}

ModelMonitor* Monitor::Find(const std::string& model, bool create) {
  auto it = models_.find(model);
  if (it != models_.end()) return it->second.get();
  if (!create) return nullptr;
  const bool configured = Configured(model);
  if (!configured && unconfigured_ >= max_models_) {
    ++dropped_models_;
    return nullptr;
  }
  if (!configured) ++unconfigured_;
  return models_.emplace(model, std::make_unique<ModelMonitor>(model, &OptionsFor(model))).first->second.get();
}

bool Monitor::Observe(const Prediction& p) {
  ModelMonitor* m = Find(p.model, true);
  if (!m) return false;
  changed_.insert(p.model);
  m->Observe(p);
  return true;
}

void Monitor::OnClickAttributed(const std::string& model, const std::string& version, int64_t click_ts_ms) {
  if (ModelMonitor* m = Find(model, false)) {
    m->OnClickAttributed(version, click_ts_ms);
    changed_.insert(model);
  }
}

bool Monitor::OnLabel(const MaturedLabel& label) {
  ModelMonitor* m = Find(label.model, false);
  if (!m) return false;
  m->OnLabel(label);
  changed_.insert(label.model);
  return true;
}

EvaluationOutput Monitor::AdvanceWatermark(int64_t watermark_ms) {
  EvaluationOutput out;
  for (auto it = models_.begin(); it != models_.end();) {
    const std::string& name = it->first;
    it->second->AdvanceWatermark(watermark_ms, &out);
    for (auto& version : it->second->TakeEvicted()) out.removed_versions.emplace_back(name, version);
    if (!it->second->empty()) {
      ++it;
      continue;
    }
    out.removed_models.insert(name);
    if (!Configured(name)) --unconfigured_;
    it = models_.erase(it);
  }
  changed_.insert(out.changed_models.begin(), out.changed_models.end());
  return out;
}

int64_t Monitor::NextEvaluationMs() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [name, m] : models_) next = std::min(next, m->NextEvaluationMs());
  return next;
}

std::vector<std::string> Monitor::Models() const {
  std::vector<std::string> names;
  for (auto& [name, m] : models_) names.push_back(name);
  return names;
}

std::optional<json> Monitor::Report(const std::string& model) const {
  auto it = models_.find(model);
  if (it == models_.end()) return std::nullopt;
  return it->second->Report();
}

json Monitor::ReportAll() const {
  json models = json::array();
  for (auto& [name, m] : models_) models.push_back(m->Report());
  return json{{"models", models}};
}

std::string Monitor::SerializeModel(const std::string& model) const {
  auto it = models_.find(model);
  if (it == models_.end()) return {};
  std::vector<uint8_t> bytes = json::to_msgpack(it->second->Save());
  return {bytes.begin(), bytes.end()};
}

Status Monitor::RestoreModel(const std::string& model, std::string_view bytes) {
  json j = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (j.is_discarded()) return Status::Corruption("monitor state of model '" + model + "' does not decode");
  auto m = std::make_unique<ModelMonitor>(model, &OptionsFor(model));
  Status st = m->Load(j);
  if (!st.ok()) return st;
  // Restored beyond max_models (a lowered limit) too: they expire like any other.
  if (!Configured(model) && !models_.count(model)) ++unconfigured_;
  models_[model] = std::move(m);
  return Status::Ok();
}

std::set<std::string> Monitor::TakeChangedModels() { return std::exchange(changed_, {}); }

}  // namespace featmon::drift
