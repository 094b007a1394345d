#include "daemon/ui/saved_report.h"

#include <nlohmann/json.hpp>

#include "daemon/ui/ui_assets.h"

namespace featmon::ui {

namespace {

// Replaces the one occurrence of `from`; false when there is none.
bool ReplaceOnce(std::string* s, std::string_view from, std::string_view to) {
  const size_t at = s->find(from);
  if (at == std::string::npos) return false;
  s->replace(at, from.size(), to);
  return true;
}

// JSON that can sit inside <script>: '<' only occurs in strings, where
// \u003c means the same, so no "</script>" or "<!--" can end the element.
std::string ScriptSafeJson(const nlohmann::json& j) {
  std::string out;
  for (char c : j.dump()) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

}  // namespace

Result<std::string> SavedReportHtml(const SavedReport& saved) {
  nlohmann::json report = nlohmann::json::parse(saved.report_json, nullptr, false);
  if (report.is_discarded() || !report.is_object()) return Status::InvalidArgument("the report is not a JSON object");
  const nlohmann::json data = {{"report", std::move(report)},
                               {"version", saved.version},
                               {"url", saved.url},
                               {"saved_at_ms", saved.saved_at_ms}};
  std::string html(Shell());
  const bool replaced =
      ReplaceOnce(&html, R"(<link rel="stylesheet" href="/ui/style.css">)",
                  "<style>\n" + std::string(StyleSheet()) + "</style>") &&
      ReplaceOnce(&html, R"(<script src="/ui/app.js"></script>)",
                  "<script>window.FEATMON_REPORT = " + ScriptSafeJson(data) + ";</script>\n<script>\n" +
                      std::string(Script()) + "</script>");
  if (!replaced) return Status::Internal("the page shell lost its style sheet or script tag");
  return html;
}

}  // namespace featmon::ui
