// The JSON shapes a model's evaluation results take, shared by its report
// (model_monitor_report.cpp) and its stored state (model_monitor_codec.cpp),
// which keeps the same objects so that state written by earlier versions
// stays readable.
#pragma once

#include <nlohmann/json.hpp>

#include "drift/model_monitor.h"

namespace featmon::drift {

// {} before the first evaluation.
nlohmann::json WindowsJson(const EvaluationWindows& w);
bool WindowsFromJson(const nlohmann::json& j, EvaluationWindows* w);
// {} before the first evaluation; the calibration verdict and streak come
// from the version, the range from the options.
nlohmann::json PerformanceJson(const VersionState& v, const MonitorOptions& o);
bool PerformanceFromJson(const nlohmann::json& j, PerformanceResult* p);
nlohmann::json DetectorJson(const DetectorSnapshot& d);

}  // namespace featmon::drift
