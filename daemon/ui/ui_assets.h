// The files of featmond's pages, compiled in (assets/, embedded by
// embed_assets.cmake): the page shell, its script and its style sheet.
#pragma once

#include <optional>
#include <string_view>

namespace featmon::ui {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// What a path under /ui serves: the shell for the pages the script draws
// (/ui, /ui/, /ui/models/{model}, /ui/features), the script and the style
// sheet themselves; nullopt for any other path.
std::optional<Asset> Find(std::string_view path);

// The files by name, for featmon-report's saved page.
std::string_view Shell();       // index.html
std::string_view Script();      // app.js
std::string_view StyleSheet();  // style.css

}  // namespace featmon::ui
