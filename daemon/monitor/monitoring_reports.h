// The read side of model monitoring, for /v1/monitoring and /readyz: JSON
// reports and the monitor's commit health.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <optional>
#include <string>

namespace featmon {

class MonitoringReports {
 public:
  virtual ~MonitoringReports() = default;
  virtual std::optional<std::string> ModelReport(const std::string& model) const = 0;  // JSON
  // JSON; empty when the monitoring does not run here (runs_here).
  virtual std::string AllReports() const = 0;
  // Why monitoring's state commits fail right now; empty while they succeed.
  virtual std::string CommitError() const = 0;
  // False when another instance of the group monitors (daemon/monitor/
  // monitoring_owner.h): its reports are asked of that one.
  virtual bool runs_here() const { return true; }
};

}  // namespace featmon
