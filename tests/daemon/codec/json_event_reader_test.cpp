// simdjson's reading of event JSON against protobuf's own parser, the rules
// it replaces: on hand-picked edge cases and on generated documents, the
// reader accepts what protobuf accepts, with the same values, and refuses
// what protobuf refuses.
#include "daemon/codec/json_event_reader.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "featmon/v1/events.pb.h"

namespace featmon {
namespace {

bool SameDouble(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool ProtobufReads(std::string_view json, google::protobuf::Message* msg) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), msg,
                                                     options).ok();
}

// Whether the reader and protobuf both accept or both refuse; "" if they do.
std::string AcceptanceDiffers(JsonEventReader::Outcome outcome, bool protobuf_ok, const std::string& error) {
  if ((outcome == JsonEventReader::Outcome::kRead) == protobuf_ok) return "";
  return "reader " + std::string(protobuf_ok ? "refused (" + error + ")" : "accepted") + " what protobuf " +
         (protobuf_ok ? "accepts" : "refuses");
}

// What the reader and protobuf made of one document; "" when they agree.
// `strict` counts documents simdjson took as JSON (the rest go to protobuf).
std::string CompareView(JsonEventReader& reader, const std::string& json, int* strict) {
  Event e;
  std::string error;
  const auto outcome = reader.ReadEvent(json, &e, &error);
  if (outcome == JsonEventReader::Outcome::kNotStrictJson) return "";
  ++*strict;
  v1::ViewEvent v;
  const bool protobuf_ok = ProtobufReads(json, &v);
  if (std::string diff = AcceptanceDiffers(outcome, protobuf_ok, error); !diff.empty() || !protobuf_ok) return diff;
  if (e.event_id != v.event_id() || e.user_id != v.user_id() || e.item_id != v.item_id() ||
      e.request_id != v.request_id() || e.category != v.category() || e.ts_ms != v.ts_ms() ||
      !SameDouble(e.value, v.value()))
    return "values differ: protobuf read " + v.ShortDebugString();
  return "";
}

std::string ComparePrediction(JsonEventReader& reader, const std::string& json, int* strict) {
  PredictionRecord r;
  std::string error;
  const auto outcome = reader.ReadPrediction(json, &r, &error);
  if (outcome == JsonEventReader::Outcome::kNotStrictJson) return "";
  ++*strict;
  v1::PredictionEvent m;
  const bool protobuf_ok = ProtobufReads(json, &m);
  if (std::string diff = AcceptanceDiffers(outcome, protobuf_ok, error); !diff.empty() || !protobuf_ok) return diff;
  const drift::Prediction& p = r.prediction;
  bool same = r.request_id == m.request_id() && r.user_id == m.user_id() && r.item_id == m.item_id() &&
              p.model == m.model() && p.model_version == m.model_version() && SameDouble(p.score, m.score()) &&
              p.ts_ms == m.ts_ms() && p.features.size() == static_cast<size_t>(m.features_size()) &&
              p.cat_features.size() == static_cast<size_t>(m.cat_features_size());
  for (size_t i = 0; same && i < p.features.size(); ++i) {
    auto it = m.features().find(p.features[i].first);
    same = it != m.features().end() && SameDouble(it->second, p.features[i].second) &&
           (i == 0 || p.features[i - 1].first < p.features[i].first);
  }
  for (size_t i = 0; same && i < p.cat_features.size(); ++i) {
    auto it = m.cat_features().find(p.cat_features[i].first);
    same = it != m.cat_features().end() && it->second == p.cat_features[i].second;
  }
  return same ? "" : "values differ: protobuf read " + m.ShortDebugString();
}

TEST(JsonEventReaderTest, ReadsWhatProtobufReadsOnEdgeCases) {
  const std::vector<std::string> cases = {
      R"({"user_id":"u1","itemId":"i9","ts_ms":"1700000000000","requestId":"r1","value":2.5})",
      R"({"ts_ms": 1.0})", R"({"ts_ms": 1.5})", R"({"ts_ms": "1e3"})", R"({"ts_ms": 1e3})", R"({"ts_ms": "+5"})",
      R"({"ts_ms": " 5"})", R"({"ts_ms": "5 "})", R"({"ts_ms": "0x10"})", R"({"ts_ms": "-0"})", R"({"ts_ms": -0.0})",
      R"({"ts_ms": 9223372036854775807})", R"({"ts_ms": 9223372036854775808})", R"({"ts_ms": "9223372036854775807"})",
      R"({"ts_ms": "9223372036854775808"})", R"({"ts_ms": "-9223372036854775808"})",
      R"({"ts_ms": "-9223372036854775809"})", R"({"ts_ms": -9223372036854775808})",
      R"({"ts_ms": -9223372036854775808.0})", R"({"ts_ms": 9223372036854775807.0})",
      R"({"ts_ms": 4611686018427387904.0})", R"({"ts_ms": 1e20})", R"({"ts_ms": true})", R"({"ts_ms": null})",
      R"({"ts_ms": "05"})", R"({"ts_ms": ""})", R"({"ts_ms": "-"})", R"({"ts_ms": "+-5"})", R"({"ts_ms": "1.0"})",
      R"({"ts_ms": [1]})", R"({"ts_ms": {}})", R"({"tsMs": 7})", R"({"TsMs": 7})", R"({"ts_ms": 1, "tsMs": 2})",
      R"({"ts_ms": 1, "ts_ms": 2})", R"({"ts_ms": 1, "ts_ms": "x"})", R"({"ts_ms": 0.5e1})",
      R"({"user_id": null})", R"({"user_id": 5})",
      R"({"user_id": "a\u0000b"})", R"({"user_id": "\u00e9\n"})", R"({"user_id": ["u"]})", R"({"user_id": true})",
      R"({"user_id": "u", "user_id": null})", R"({"userId": "u", "user_id": "v"})", R"({"value": "NaN"})",
      R"({"value": "nan"})", R"({"value": "Infinity"})", R"({"value": "-Infinity"})", R"({"value": "inf"})",
      R"({"value": "1.5"})", R"({"value": " 1.5"})", R"({"value": "1.5x"})", R"({"value": "+1.5"})",
      R"({"value": ".5"})", R"({"value": "1."})", R"({"value": "1E5"})", R"({"value": "0x10"})", R"({"value": ""})",
      R"({"value": "1e-400"})", R"({"value": 1e-400})", R"({"value": "1e400"})", R"({"value": -0})",
      R"({"value": 18446744073709551615})", R"({"value": true})", R"({"value": [1]})", R"({"value": {}})",
      R"({"unknown": {"x": [1, {"y": null}]}, "user_id": "u"})", R"({"category": "c", "eventId": "e"})", R"({})",
      R"(  {"user_id": "u"}  )"};
  JsonEventReader reader;
  int strict = 0;
  for (const std::string& json : cases) EXPECT_EQ(CompareView(reader, json, &strict), "") << json;
  EXPECT_EQ(strict, static_cast<int>(cases.size())) << "simdjson refused strict JSON";
}

TEST(JsonEventReaderTest, ReadsPredictionsAsProtobufDoes) {
  const std::vector<std::string> cases = {
      R"({"request_id":"r","userId":"u","item_id":"i","model":"m","modelVersion":"v","score":0.25,"tsMs":5,)"
      R"("features":{"b":2,"a":"1.5","c":"NaN"},"catFeatures":{"device":"ios"}})",
      R"({"features": {"a": null}})", R"({"features": null})", R"({"features": {"a": 1, "a": 2}})",
      R"({"features": []})", R"({"features": {"a": true}})", R"({"features": {"a": "inf"}})",
      R"({"features": {"a": [1]}})", R"({"features": {"": 1}})", R"({"features": {"a": 1}, "features": {"b": 2}})",
      R"({"features": {"a": 1}, "features": {"a": 2}})", R"({"features": {"a": 1}, "features": null})",
      R"({"cat_features": {"a": "x", "b": 1}})", R"({"cat_features": {"a": null}})",
      R"({"cat_features": {"a": "x"}, "catFeatures": {"a": "y"}})", R"({"score": "NaN"})", R"({"score": 1})",
      R"({"model": "m", "modelVersion": "v", "model_version": "w"})", R"({"score": 0.1, "score": null})"};
  JsonEventReader reader;
  int strict = 0;
  for (const std::string& json : cases) EXPECT_EQ(ComparePrediction(reader, json, &strict), "") << json;
  EXPECT_EQ(strict, static_cast<int>(cases.size()));
}

// What simdjson refuses goes to protobuf, which accepts some of it.
TEST(JsonEventReaderTest, LeavesTextThatIsNotStrictJsonToProtobuf) {
  JsonEventReader reader;
  Event e;
  std::string error;
  for (const char* json : {R"({"user_id": "u",})", R"({'user_id': 'u'})", R"({"user_id": "u"} x)",
                           R"({"user_id": "\ud800"})", "{\"user_id\": \"\xff\"}", R"({"value": 1e400})",
                           R"({"value": NaN})", R"({"user_id": "u"}{"user_id": "v"})", R"({"user_id")",
                           R"({"ts_ms": 12345678901234567890123})"})  // past uint64: simdjson refuses the number
    EXPECT_EQ(reader.ReadEvent(json, &e, &error), JsonEventReader::Outcome::kNotStrictJson) << json;
}

// Generated documents: known and unknown names in both spellings, values of
// every JSON type and of the string forms protobuf accepts, repeated fields,
// nulls and maps with repeated keys.
class DocumentGenerator {
 public:
  explicit DocumentGenerator(uint32_t seed) : rng_(seed) {}

  std::string Next(const std::vector<std::string>& names) {
    std::string doc = "{";
    const int fields = Pick(9);
    for (int i = 0; i < fields; ++i) {
      if (i) doc += ",";
      const std::string& name = names[Pick(static_cast<int>(names.size()))];
      doc += "\"" + name + "\":" + Value(name, 0);
    }
    return doc + "}";
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Value(const std::string& name, int depth) {
    static const std::vector<std::string> scalars = {
        "null", "true", "false", "0", "-0", "7", "-12", "1.0", "2.5", "1e3", "-1.5e2", "1e-400", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551615", "1e19", "\"\"", "\"u1\"", "\"item-9\"",
        "\"\\u00e9\\n\"", "\"17\"", "\"+17\"", "\"-17\"", "\"017\"", "\"1.5\"", "\"0x1f\"", "\"1e3\"", "\"NaN\"",
        "\"Infinity\"", "\"-Infinity\"", "\"inf\"", "\" 5\"", "\"9223372036854775808\"", "\"1e400\"", "\".5\""};
    const bool is_map = name == "features" || name == "cat_features" || name == "catFeatures";
    if (depth < 2 && Pick(is_map ? 2 : 8) == 0) {
      if (Pick(4) == 0) return "[" + Value(name, depth + 1) + "," + Value(name, depth + 1) + "]";
      std::string obj = "{";
      const int n = Pick(4);
      for (int i = 0; i < n; ++i) obj += (i ? ",\"" : "\"") + std::string(1, static_cast<char>('a' + Pick(3))) +
                                         "\":" + Value("", depth + 1);
      return obj + "}";
    }
    return scalars[Pick(static_cast<int>(scalars.size()))];
  }

  std::mt19937 rng_;
};

TEST(JsonEventReaderTest, AgreesWithProtobufOnGeneratedViews) {
  const std::vector<std::string> names = {"event_id", "eventId", "user_id", "userId", "item_id", "itemId", "ts_ms",
                                          "tsMs", "request_id", "requestId", "category", "value", "Value", "x"};
  DocumentGenerator gen(20261203);
  JsonEventReader reader;
  int strict = 0, failures = 0;
  for (int i = 0; i < 20'000 && failures < 10; ++i) {
    const std::string json = gen.Next(names);
    const std::string diff = CompareView(reader, json, &strict);
    if (!diff.empty()) ADD_FAILURE() << json << ": " << diff, ++failures;
  }
  EXPECT_GT(strict, 19'000) << "the generator should make strict JSON";
}

TEST(JsonEventReaderTest, AgreesWithProtobufOnGeneratedPredictions) {
  const std::vector<std::string> names = {"request_id", "user_id", "itemId", "model", "model_version",
                                          "modelVersion", "score", "ts_ms", "features", "cat_features",
                                          "catFeatures", "unknown"};
  DocumentGenerator gen(7);
  JsonEventReader reader;
  int strict = 0, failures = 0;
  for (int i = 0; i < 20'000 && failures < 10; ++i) {
    const std::string json = gen.Next(names);
    const std::string diff = ComparePrediction(reader, json, &strict);
    if (!diff.empty()) ADD_FAILURE() << json << ": " << diff, ++failures;
  }
  EXPECT_GT(strict, 19'000);
}

}  // namespace
}  // namespace featmon
