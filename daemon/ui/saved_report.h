// featmon-report's file: the model page with its report inside, as one HTML
// file that opens with no server and no network (attach it to a ticket or a
// retrain request). The page's own script draws it, so it shows what
// /ui/models/{model} showed at the moment it was saved.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace featmon::ui {

struct SavedReport {
  std::string report_json;  // GET /v1/monitoring/models/{model}, as served
  std::string version;      // the version shown first; empty: the latest
  std::string url;          // where it came from, shown on the page
  int64_t saved_at_ms = 0;
};

// InvalidArgument when report_json is not a JSON object.
Result<std::string> SavedReportHtml(const SavedReport& saved);

}  // namespace featmon::ui
