// featmon-report's file: the page's style and script inline, the report
// inside as data no string in it can break out of, nothing fetched.
#include "daemon/ui/saved_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/ui/ui_assets.h"

namespace featmon::ui {
namespace {

TEST(SavedReport, InlinesTheStyleTheScriptAndTheReport) {
  const std::string report = R"({"model":"m","versions":{},"history":{}})";
  auto html = SavedReportHtml({report, "v2", "http://localhost:8080", 1'700'000'000'000});
  ASSERT_TRUE(html.ok()) << html.status().message();
  EXPECT_EQ(html->find("/ui/style.css"), std::string::npos);
  EXPECT_EQ(html->find("src=\"/ui/app.js\""), std::string::npos);
  EXPECT_NE(html->find(std::string(StyleSheet()).substr(0, 200)), std::string::npos);
  EXPECT_NE(html->find(std::string(Script()).substr(0, 200)), std::string::npos);
  const std::string marker = "window.FEATMON_REPORT = ";
  const size_t at = html->find(marker);
  ASSERT_NE(at, std::string::npos);
  const size_t end = html->find(";</script>", at);
  auto data = nlohmann::json::parse(html->substr(at + marker.size(), end - at - marker.size()));
  EXPECT_EQ(data["report"]["model"], "m");
  EXPECT_EQ(data["version"], "v2");
  EXPECT_EQ(data["url"], "http://localhost:8080");
  EXPECT_EQ(data["saved_at_ms"], 1'700'000'000'000);
}

// A feature or model named like markup stays data: the saved page has
// exactly the shell's two script elements, and the name survives intact.
TEST(SavedReport, AReportHoldingMarkupCannotEndTheScript) {
  const std::string evil = "</script><script>alert(1)</script><!--";
  nlohmann::json report = {{"model", evil}, {"versions", nlohmann::json::object()}};
  auto html = SavedReportHtml({report.dump(), "", "http://x", 0});
  ASSERT_TRUE(html.ok());
  size_t scripts = 0;
  for (size_t p = html->find("<script"); p != std::string::npos; p = html->find("<script", p + 1)) ++scripts;
  EXPECT_EQ(scripts, 2u);
  EXPECT_EQ(html->find(evil), std::string::npos);
  const std::string marker = "window.FEATMON_REPORT = ";
  const size_t at = html->find(marker);
  const size_t end = html->find(";</script>", at);
  EXPECT_EQ(nlohmann::json::parse(html->substr(at + marker.size(), end - at - marker.size()))["report"]["model"], evil);
}

TEST(SavedReport, RefusesWhatIsNotAReport) {
  EXPECT_FALSE(SavedReportHtml({"not json", "", "", 0}).ok());
  EXPECT_FALSE(SavedReportHtml({"[1,2]", "", "", 0}).ok());
}

// The script is inlined whole, so it must not hold what would end its element.
TEST(SavedReport, TheScriptAndStyleCanBeInlined) {
  EXPECT_EQ(std::string(Script()).find("</script"), std::string::npos);
  EXPECT_EQ(std::string(StyleSheet()).find("</style"), std::string::npos);
}

TEST(UiAssets, FindServesTheShellForEveryPageAndNothingElse) {
  for (const char* page : {"/ui", "/ui/", "/ui/features", "/ui/models/ctr_ranker"})
    EXPECT_EQ(Find(page)->body, Shell()) << page;
  EXPECT_EQ(Find("/ui/app.js")->body, Script());
  EXPECT_EQ(Find("/ui/style.css")->body, StyleSheet());
  for (const char* other : {"/ui/models/", "/ui/models/a/b", "/ui/x", "/uix", "/ui/app.js/"})
    EXPECT_FALSE(Find(other).has_value()) << other;
}

}  // namespace
}  // namespace featmon::ui
