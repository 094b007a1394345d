#include "daemon/ui/ui_assets.h"

namespace featmon {
namespace ui_data {
extern const char index_html[];
extern const char app_js[];
extern const char style_css[];
}  // namespace ui_data

namespace ui {

std::string_view Shell() { return ui_data::index_html; }
std::string_view Script() { return ui_data::app_js; }
std::string_view StyleSheet() { return ui_data::style_css; }

std::optional<Asset> Find(std::string_view path) {
  if (path == "/ui/app.js") return Asset{"text/javascript; charset=utf-8", Script()};
  if (path == "/ui/style.css") return Asset{"text/css; charset=utf-8", StyleSheet()};
  constexpr std::string_view kModels = "/ui/models/";
  const bool model_page = path.substr(0, kModels.size()) == kModels && path.size() > kModels.size() &&
                          path.find('/', kModels.size()) == std::string_view::npos;
  if (path == "/ui" || path == "/ui/" || path == "/ui/features" || model_page)
    return Asset{"text/html; charset=utf-8", Shell()};
  return std::nullopt;
}

}  // namespace ui
}  // namespace featmon
