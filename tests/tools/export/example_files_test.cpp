// The split files byte for byte: columns, quoting, lists, missing logged
// values and nulls, in CSV and JSON Lines; labels paired with their
// examples; the spool and the labels file gone afterwards.
#include "tools/export/example_files.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "tests/daemon/temp_dir.h"
#include "tests/features/test_specs.h"

namespace featmon::exporter {
namespace {

using namespace featmon::testing;

std::vector<FeatureSpec> SmallSpecs() {
  FeatureSpec last = Spec("last_clicked_items", EntityKind::kUser, kClicks, Aggregation::kLastNDistinct, 0, EventField::kItemId);
  last.n = 3;
  return {Spec("views_1h", EntityKind::kUser, kViews, Aggregation::kCount, kHour), last,
          Ratio("ctr_1h", EntityKind::kItem, "clicks_1h", "views_1h"),
          Spec("views_1h", EntityKind::kItem, kViews, Aggregation::kCount, kHour),
          Spec("clicks_1h", EntityKind::kItem, kClicks, Aggregation::kCount, kHour)};
}

training::TrainingExample Example(int64_t ts) {
  training::TrainingExample ex;
  ex.ts_ms = ts;
  ex.request_id = "r" + std::to_string(ts);
  ex.user_id = "u,\"1\"";  // needs quoting in CSV
  ex.item_id = "i1";
  ex.model_version = "v1";
  ex.score = 0.25;
  ex.user = {FeatureValue::Int(3), FeatureValue{}};
  ex.user[1].type = FeatureValue::Type::kStrings;
  ex.user[1].strings = {"i7", "i8"};
  ex.item = {FeatureValue::Null(), FeatureValue::Int(4), FeatureValue::Int(0)};
  return ex;
}

// Spools an example and labels it at once, matured.
Status SpoolMatured(ExampleFiles& files, const training::TrainingExample& ex, bool clicked) {
  if (Status st = files.Spool(ex); !st.ok()) return st;
  return files.Label({.ts_ms = ex.ts_ms, .matured = true, .clicked = clicked});
}

std::string Read(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

// Runs `body(format, out, files)` for CSV and for JSON Lines, each with
// ExampleFiles of its own in the directory `out` under `dir`.
template <typename Body>
void ForEachFormat(const TempDir& dir, const FeatureSet& set, Body body) {
  for (Format format : {Format::kCsv, Format::kJsonl}) {
    const std::string out = dir.sub(FormatExtension(format));
    auto files = ExampleFiles::Open(out, format, &set);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    body(format, out, *files);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ExampleFiles, WritesEachSplitWithTheUnionOfLoggedColumns) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  ForEachFormat(dir, set, [&](Format format, const std::string& out, std::unique_ptr<ExampleFiles>& files) {
    training::TrainingExample a = Example(1000), b = Example(2000), c = Example(3000);
    a.logged_numeric = {{"dwell", 1.5}};
    b.logged_categorical = {{"device", "ios"}};
    ASSERT_TRUE(SpoolMatured(*files, a, true).ok());
    for (const auto& ex : {b, c}) ASSERT_TRUE(SpoolMatured(*files, ex, false).ok());
    training::SplitPlan plan;
    auto counts = files->Finish({1.0 / 3, 1.0 / 3, 1.0 / 3}, 0, &plan);
    ASSERT_TRUE(counts.ok()) << counts.status().ToString();
    EXPECT_EQ(counts->rows[0], 1u);
    EXPECT_EQ(counts->positives[0], 1u);
    EXPECT_EQ(counts->rows[2], 1u);
    files.reset();
    EXPECT_FALSE(std::filesystem::exists(out + "/.featmon-export.spool"));
    EXPECT_FALSE(std::filesystem::exists(out + "/.featmon-export.labels"));
    if (format == Format::kCsv) {
      const std::string header =
          "ts_ms,request_id,user_id,item_id,model_version,score,label,logged.device,logged.dwell,"
          "user.views_1h,user.last_clicked_items,item.ctr_1h,item.views_1h,item.clicks_1h\n";
      EXPECT_EQ(Read(out + "/train.csv"), header + "1000,r1000,\"u,\"\"1\"\"\",i1,v1,0.25,1,,1.5,3,i7|i8,,4,0\n");
      EXPECT_EQ(Read(out + "/validation.csv"), header + "2000,r2000,\"u,\"\"1\"\"\",i1,v1,0.25,0,ios,,3,i7|i8,,4,0\n");
    } else {
      EXPECT_EQ(Read(out + "/test.jsonl"),
                "{\"ts_ms\":3000,\"request_id\":\"r3000\",\"user_id\":\"u,\\\"1\\\"\",\"item_id\":\"i1\",\"model_version\":\"v1\","
                "\"score\":0.25,\"label\":0,\"logged.device\":null,\"logged.dwell\":null,\"user.views_1h\":3,"
                "\"user.last_clicked_items\":[\"i7\",\"i8\"],\"item.ctr_1h\":null,\"item.views_1h\":4,\"item.clicks_1h\":0}\n");
    }
  });
}

// Cells of 128 bytes and more (their spool length takes two varint bytes),
// and a list with a value that needs quoting, which quotes the whole cell.
TEST(ExampleFiles, KeepsLongCellsAndQuotesAListAsOneField) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  auto files = ExampleFiles::Open(dir.sub("csv"), Format::kCsv, &set);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  training::TrainingExample ex = Example(1000);
  ex.request_id = std::string(300, 'r');
  ex.user[1].strings = {std::string(127, 'a'), "b,c", "d"};
  ASSERT_TRUE(SpoolMatured(**files, ex, true).ok());
  training::SplitPlan plan;
  ASSERT_TRUE((*files)->Finish({1.0, 0, 0}, 0, &plan).ok());
  const std::string csv = Read(dir.sub("csv") + "/train.csv");
  EXPECT_EQ(csv.substr(csv.find('\n') + 1),
            "1000," + std::string(300, 'r') + ",\"u,\"\"1\"\"\",i1,v1,0.25,1,3,\"" + std::string(127, 'a') + "|b,c|d\",,4,0\n");
}

// Numbers are formatted in place in the spool: NaN and infinities (logged or
// computed) are empty cells in CSV and null in JSON Lines, extreme values
// keep their shortest round-trip text, and rows far longer than the spool
// writer's look-ahead (1 KiB: 300 logged numbers here) come out whole.
TEST(ExampleFiles, WritesNonFiniteExtremeAndManyNumbers) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  ForEachFormat(dir, set, [&](Format format, const std::string& out, std::unique_ptr<ExampleFiles>& files) {
    training::TrainingExample ex = Example(1000);
    ex.score = -0.0;
    ex.item[0] = FeatureValue::Double(std::numeric_limits<double>::quiet_NaN());
    ex.item[1] = FeatureValue::Int(INT64_MIN);
    ex.item[2] = FeatureValue::Int(INT64_MAX);
    ex.logged_numeric = {{"a", std::numeric_limits<double>::infinity()}, {"b", -1.7976931348623157e308},
                         {"c", 5e-324}};
    std::string expected_many;
    for (int i = 0; i < 300; ++i) {
      char name[8];
      std::snprintf(name, sizeof name, "m%03d", i);
      ex.logged_numeric.emplace_back(name, 1.0 / (i + 3));
      char number[32];
      const std::string text(number, std::to_chars(number, number + sizeof number, 1.0 / (i + 3)).ptr);
      expected_many += format == Format::kCsv ? "," + text : ",\"logged." + std::string(name) + "\":" + text;
    }
    ASSERT_TRUE(SpoolMatured(*files, ex, true).ok());
    training::SplitPlan plan;
    ASSERT_TRUE(files->Finish({1.0, 0, 0}, 0, &plan).ok());
    const std::string text = Read(out + "/train." + FormatExtension(format));
    if (format == Format::kCsv) {
      EXPECT_EQ(text.substr(text.find('\n') + 1),
                "1000,r1000,\"u,\"\"1\"\"\",i1,v1,-0,1,,-1.7976931348623157e+308,5e-324" + expected_many +
                    ",3,i7|i8,,-9223372036854775808,9223372036854775807\n");
    } else {
      EXPECT_EQ(text, "{\"ts_ms\":1000,\"request_id\":\"r1000\",\"user_id\":\"u,\\\"1\\\"\",\"item_id\":\"i1\","
                      "\"model_version\":\"v1\",\"score\":-0,\"label\":1,\"logged.a\":null,"
                      "\"logged.b\":-1.7976931348623157e+308,\"logged.c\":5e-324" + expected_many +
                      ",\"user.views_1h\":3,\"user.last_clicked_items\":[\"i7\",\"i8\"],\"item.ctr_1h\":null,"
                      "\"item.views_1h\":-9223372036854775808,\"item.clicks_1h\":9223372036854775807}\n");
    }
  });
}

// Left-out rows are counted against the split whose time span held them, and
// a split that kept fewer than it lost is warned about.
TEST(ExampleFiles, CountsWhereLeftOutRowsCameFromAndWarnsWhenMostAre) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  auto files = ExampleFiles::Open(dir.sub("csv"), Format::kCsv, &set);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  // 100 predictions 10 ms apart: the boundaries fall at 1800 (validation) and
  // 1900 (test), and a 60 ms window leaves out 6 of train's and 6 of
  // validation's 10.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(SpoolMatured(**files, Example(1000 + 10 * i), i % 2).ok());
  training::SplitPlan plan;
  auto counts = (*files)->Finish({0.8, 0.1, 0.1}, 60, &plan);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(plan.validation_from_ms, 1800);
  EXPECT_EQ(plan.test_from_ms, 1900);
  EXPECT_EQ(counts->rows[0], 74u);
  EXPECT_EQ(counts->rows[1], 4u);
  EXPECT_EQ(counts->rows[2], 10u);
  EXPECT_EQ(counts->rows[3], 12u);
  EXPECT_EQ(counts->left_out_of[0], 6u);
  EXPECT_EQ(counts->left_out_of[1], 6u);
  EXPECT_EQ(counts->left_out_of[2], 0u);

  const std::vector<std::string> warnings = SplitWarnings(*counts, 60'000);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("validation kept 4 of the 10 predictions in its time span (40%)", 0), 0u) << warnings[0];
  EXPECT_NE(warnings[0].find("(60 s)"), std::string::npos) << warnings[0];
  EXPECT_EQ((*files)->spooled(), 100u);
  SplitCounts sound = *counts;
  sound.left_out_of[1] = 4;  // as many kept as left out: no warning
  EXPECT_TRUE(SplitWarnings(sound, 60'000).empty());
}

// The split's boundaries are read back from the spool, so it must be in time
// order: an older example is refused, and ties are fine.
TEST(ExampleFiles, RefusesAnExampleOlderThanTheLast) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  auto files = ExampleFiles::Open(dir.sub("csv"), Format::kCsv, &set);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(SpoolMatured(**files, Example(2000), false).ok());
  ASSERT_TRUE(SpoolMatured(**files, Example(2000), true).ok());
  const Status older = (*files)->Spool(Example(1999));
  EXPECT_EQ(older.code(), StatusCode::kInvalidArgument) << older.ToString();
  EXPECT_EQ((*files)->spooled(), 2u);
  training::SplitPlan plan;
  auto counts = (*files)->Finish({0.5, 0, 0.5}, 0, &plan);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(plan.test_from_ms, 2000) << "the tie at the boundary goes with the later split";
  EXPECT_EQ(counts->rows[2], 2u);
}

// Labels come after their examples, first in, first out. An example whose
// label did not mature is not written, and the split's quantiles are of the
// exported examples only.
TEST(ExampleFiles, PairsLabelsWithExamplesInOrderAndLeavesOutTheUnmatured) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  const std::string out = dir.sub("csv");
  auto files = ExampleFiles::Open(out, Format::kCsv, &set);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  for (int64_t ts : {1000, 2000, 3000, 4000}) ASSERT_TRUE((*files)->Spool(Example(ts)).ok());
  ASSERT_TRUE((*files)->Label({.ts_ms = 1000, .matured = true, .clicked = true}).ok());
  training::SplitPlan plan;
  const auto unlabelled = (*files)->Finish({1.0 / 3, 1.0 / 3, 1.0 / 3}, 0, &plan);
  ASSERT_FALSE(unlabelled.ok());
  EXPECT_EQ(unlabelled.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unlabelled.status().ToString().find("3 of the 4 spooled examples have no label"), std::string::npos)
      << unlabelled.status().ToString();
  ASSERT_TRUE((*files)->Label({.ts_ms = 2000, .matured = false}).ok());
  ASSERT_TRUE((*files)->Label({.ts_ms = 3000, .matured = true, .clicked = false}).ok());
  ASSERT_TRUE((*files)->Label({.ts_ms = 4000, .matured = true, .clicked = true}).ok());
  EXPECT_EQ((*files)->Label({.ts_ms = 5000, .matured = true}).code(), StatusCode::kInvalidArgument)
      << "one label too many";
  EXPECT_EQ((*files)->spooled(), 4u);
  EXPECT_EQ((*files)->exported(), 3u);

  auto counts = (*files)->Finish({1.0 / 3, 1.0 / 3, 1.0 / 3}, 0, &plan);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(plan.validation_from_ms, 3000) << "the second exported example, not the second spooled";
  EXPECT_EQ(plan.test_from_ms, 4000);
  EXPECT_EQ(counts->rows[0] + counts->rows[1] + counts->rows[2] + counts->rows[3], 3u);
  EXPECT_EQ(counts->positives[0] + counts->positives[2], 2u);
  const auto rows = [&](const char* split) {
    const std::string csv = Read(out + "/" + split + ".csv");
    return csv.substr(csv.find('\n') + 1);
  };
  EXPECT_EQ(rows("train"), "1000,r1000,\"u,\"\"1\"\"\",i1,v1,0.25,1,3,i7|i8,,4,0\n");
  EXPECT_EQ(rows("validation"), "3000,r3000,\"u,\"\"1\"\"\",i1,v1,0.25,0,3,i7|i8,,4,0\n");
  EXPECT_EQ(rows("test"), "4000,r4000,\"u,\"\"1\"\"\",i1,v1,0.25,1,3,i7|i8,,4,0\n");
  files->reset();
  EXPECT_FALSE(std::filesystem::exists(out + "/.featmon-export.labels"));
}

// Each label carries its example's time, so a label given out of turn is
// caught at Finish instead of labelling another example.
TEST(ExampleFiles, RefusesALabelGivenForAnotherExample) {
  TempDir dir;
  const FeatureSet set = *FeatureSet::Compile(SmallSpecs());
  auto files = ExampleFiles::Open(dir.sub("csv"), Format::kCsv, &set);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE((*files)->Spool(Example(1000)).ok());
  ASSERT_TRUE((*files)->Spool(Example(2000)).ok());
  ASSERT_TRUE((*files)->Label({.ts_ms = 2000, .matured = true}).ok());
  ASSERT_TRUE((*files)->Label({.ts_ms = 1000, .matured = true}).ok());
  training::SplitPlan plan;
  const auto counts = (*files)->Finish({1, 0, 0}, 0, &plan);
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(counts.status().ToString().find("the example at ts_ms 1000 was that of one at 2000"), std::string::npos)
      << counts.status().ToString();
}

}  // namespace
}  // namespace featmon::exporter
