#include "daemon/codec/json_event_reader.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <utility>
#include <vector>

namespace featmon {

namespace dom = simdjson::dom;

struct JsonEventReader::Parser {
  dom::parser parser;
};

namespace {

enum class Field {
  kUnknown, kEventId, kUserId, kItemId, kTsMs, kRequestId, kCategory, kValue,
  kModel, kModelVersion, kScore, kFeatures, kCatFeatures,
};

// A field's proto name or its JSON name (lowerCamelCase), as protobuf matches them.
Field CommonField(std::string_view k) {
  if (k == "user_id" || k == "userId") return Field::kUserId;
  if (k == "item_id" || k == "itemId") return Field::kItemId;
  if (k == "ts_ms" || k == "tsMs") return Field::kTsMs;
  if (k == "request_id" || k == "requestId") return Field::kRequestId;
  return Field::kUnknown;
}
Field EventField(std::string_view k) {
  if (Field f = CommonField(k); f != Field::kUnknown) return f;
  if (k == "event_id" || k == "eventId") return Field::kEventId;
  if (k == "category") return Field::kCategory;
  if (k == "value") return Field::kValue;
  return Field::kUnknown;
}
Field PredictionField(std::string_view k) {
  if (Field f = CommonField(k); f != Field::kUnknown) return f;
  if (k == "model") return Field::kModel;
  if (k == "model_version" || k == "modelVersion") return Field::kModelVersion;
  if (k == "score") return Field::kScore;
  if (k == "features") return Field::kFeatures;
  if (k == "cat_features" || k == "catFeatures") return Field::kCatFeatures;
  return Field::kUnknown;
}

bool Fail(std::string* error, std::string_view field, std::string_view problem) {
  *error = "json: ";
  error->append(field).append(": ").append(problem);
  return false;
}

// protobuf's int64 text: an optional sign and decimal digits, nothing else.
bool ParseInt64Text(std::string_view s, int64_t* out) {
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) ++i;
  if (i == s.size()) return false;
  constexpr uint64_t kNegativeLimit = uint64_t{1} << 63;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (kNegativeLimit - digit) / 10) return false;  // past what either sign can hold
    v = v * 10 + digit;
  }
  if (negative) {
    *out = v == kNegativeLimit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(v);
  } else {
    if (v >= kNegativeLimit) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// protobuf's double text: "NaN", "Infinity", "-Infinity", or what strtod
// reads whole (hex and a leading '+' included) without leading space and
// with a finite result ("inf", "nan" and 1e400 are refused; 1e-400 is 0).
bool ParseDoubleText(std::string_view s, double* out) {
  if (s == "NaN") return *out = std::numeric_limits<double>::quiet_NaN(), true;
  if (s == "Infinity") return *out = std::numeric_limits<double>::infinity(), true;
  if (s == "-Infinity") return *out = -std::numeric_limits<double>::infinity(), true;
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string text(s);  // strtod needs the terminating NUL
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// Each Read* leaves `out` as it was for a JSON null, as protobuf does.
bool ReadString(dom::element v, std::string* out, std::string_view field, std::string* error) {
  if (v.is_null()) return true;
  std::string_view s;
  if (v.get_string().get(s)) return Fail(error, field, "expected a string");
  out->assign(s.data(), s.size());
  return true;
}

bool ReadInt64(dom::element v, int64_t* out, std::string_view field, std::string* error) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE: return true;
    case dom::element_type::INT64: *out = v.get_int64().value_unsafe(); return true;
    case dom::element_type::DOUBLE: {
      // An integral number in int64's range: 1.0 and 1e3 are, 1.5 and 2^63 are not.
      const double d = v.get_double().value_unsafe();
      if (d != std::trunc(d) || !(d >= -0x1p63 && d < 0x1p63)) return Fail(error, field, "not an int64");
      *out = static_cast<int64_t>(d);
      return true;
    }
    case dom::element_type::STRING:
      if (!ParseInt64Text(v.get_string().value_unsafe(), out)) return Fail(error, field, "not an int64");
      return true;
    default:  // UINT64 is only used past int64's range
      return Fail(error, field, "not an int64");
  }
}

bool ReadDouble(dom::element v, double* out, std::string_view field, std::string* error) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE: return true;
    case dom::element_type::INT64: *out = static_cast<double>(v.get_int64().value_unsafe()); return true;
    case dom::element_type::UINT64: *out = static_cast<double>(v.get_uint64().value_unsafe()); return true;
    case dom::element_type::DOUBLE: *out = v.get_double().value_unsafe(); return true;
    case dom::element_type::STRING:
      if (!ParseDoubleText(v.get_string().value_unsafe(), out)) return Fail(error, field, "not a double");
      return true;
    default: return Fail(error, field, "not a double");
  }
}

// A map field: an object whose keys are unique within it. A map given twice
// merges, a later key replacing an earlier one; `out` ends sorted by key.
template <typename V, typename ReadValue>
bool ReadMap(dom::element v, std::vector<std::pair<std::string, V>>* out, std::string_view field,
             ReadValue read_value, std::string* error) {
  if (v.is_null()) return true;
  dom::object object;
  if (v.get_object().get(object)) return Fail(error, field, "expected an object");
  std::vector<std::pair<std::string, V>> entries;
  entries.reserve(object.size());
  for (dom::key_value_pair kv : object) {
    V value{};
    if (!read_value(kv.value, &value, field, error)) return false;
    entries.emplace_back(std::string(kv.key), std::move(value));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto twice = std::adjacent_find(entries.begin(), entries.end(),
                                  [](const auto& a, const auto& b) { return a.first == b.first; });
  if (twice != entries.end()) return Fail(error, field, "the key '" + twice->first + "' is given twice");
  if (out->empty()) {
    *out = std::move(entries);
    return true;
  }
  std::map<std::string, V> merged(std::make_move_iterator(out->begin()), std::make_move_iterator(out->end()));
  for (auto& [key, value] : entries) merged.insert_or_assign(std::move(key), std::move(value));
  out->assign(std::make_move_iterator(merged.begin()), std::make_move_iterator(merged.end()));
  return true;
}

}  // namespace

JsonEventReader::JsonEventReader() : parser_(std::make_unique<Parser>()) {}
JsonEventReader::~JsonEventReader() = default;

namespace {

// The document's top-level object, or why there is none.
JsonEventReader::Outcome TopObject(dom::parser& parser, std::string_view json, dom::object* object,
                                   std::string* error) {
  dom::element doc;
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(doc))
    return JsonEventReader::Outcome::kNotStrictJson;
  if (doc.get_object().get(*object)) {
    Fail(error, "(root)", "expected an object");
    return JsonEventReader::Outcome::kInvalid;
  }
  return JsonEventReader::Outcome::kRead;
}

}  // namespace

JsonEventReader::Outcome JsonEventReader::ReadEvent(std::string_view json, Event* e, std::string* error) {
  dom::object object;
  if (Outcome o = TopObject(parser_->parser, json, &object, error); o != Outcome::kRead) return o;
  ClearMessageFields(e);
  for (dom::key_value_pair kv : object) {
    bool ok = true;
    switch (EventField(kv.key)) {
      case Field::kEventId: ok = ReadString(kv.value, &e->event_id, kv.key, error); break;
      case Field::kUserId: ok = ReadString(kv.value, &e->user_id, kv.key, error); break;
      case Field::kItemId: ok = ReadString(kv.value, &e->item_id, kv.key, error); break;
      case Field::kRequestId: ok = ReadString(kv.value, &e->request_id, kv.key, error); break;
      case Field::kCategory: ok = ReadString(kv.value, &e->category, kv.key, error); break;
      case Field::kTsMs: ok = ReadInt64(kv.value, &e->ts_ms, kv.key, error); break;
      case Field::kValue: ok = ReadDouble(kv.value, &e->value, kv.key, error); break;
      default: break;
    }
    if (!ok) return Outcome::kInvalid;
  }
  return Outcome::kRead;
}

JsonEventReader::Outcome JsonEventReader::ReadPrediction(std::string_view json, PredictionRecord* r,
                                                         std::string* error) {
  dom::object object;
  if (Outcome o = TopObject(parser_->parser, json, &object, error); o != Outcome::kRead) return o;
  ClearMessageFields(r);
  drift::Prediction& p = r->prediction;
  for (dom::key_value_pair kv : object) {
    bool ok = true;
    switch (PredictionField(kv.key)) {
      case Field::kRequestId: ok = ReadString(kv.value, &r->request_id, kv.key, error); break;
      case Field::kUserId: ok = ReadString(kv.value, &r->user_id, kv.key, error); break;
      case Field::kItemId: ok = ReadString(kv.value, &r->item_id, kv.key, error); break;
      case Field::kModel: ok = ReadString(kv.value, &p.model, kv.key, error); break;
      case Field::kModelVersion: ok = ReadString(kv.value, &p.model_version, kv.key, error); break;
      case Field::kScore: ok = ReadDouble(kv.value, &p.score, kv.key, error); break;
      case Field::kTsMs: ok = ReadInt64(kv.value, &p.ts_ms, kv.key, error); break;
      case Field::kFeatures: ok = ReadMap(kv.value, &p.features, kv.key, ReadDouble, error); break;
      case Field::kCatFeatures: ok = ReadMap(kv.value, &p.cat_features, kv.key, ReadString, error); break;
      default: break;
    }
    if (!ok) return Outcome::kInvalid;
  }
  return Outcome::kRead;
}

}  // namespace featmon
