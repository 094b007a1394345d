#include "daemon/codec/event_decoder.h"

#include <algorithm>
#include <cmath>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <chrono>

#include "daemon/codec/json_event_reader.h"
#include "daemon/codec/protobuf_wire_reader.h"
#include "daemon/logging/log.h"

#include "featmon/internal/prediction_wire.pb.h"
#include "featmon/v1/events.pb.h"

namespace featmon {

std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kDecodeError: return "decode_error";
    case RejectReason::kMissingUserId: return "missing_user_id";
    case RejectReason::kMissingItemId: return "missing_item_id";
    case RejectReason::kIdTooLong: return "id_too_long";
    case RejectReason::kInvalidTimestamp: return "invalid_timestamp";
    case RejectReason::kFutureTimestamp: return "future_timestamp";
    case RejectReason::kMissingModel: return "missing_model";
    case RejectReason::kInvalidScore: return "invalid_score";
    case RejectReason::kInvalidValue: return "invalid_value";
  }
  return "unknown";
}

struct EventDecoder::Scratch {
  JsonEventReader json;
  v1::ViewEvent view;
  v1::ClickEvent click;
  v1::PredictionEvent prediction;             // JSON that simdjson refused
  internal::PredictionEventWire prediction_wire;  // binary: the same bytes, allocation-free once warm
};

EventDecoder::EventDecoder(DecoderOptions options) : options_(options), scratch_(std::make_unique<Scratch>()) {}
EventDecoder::~EventDecoder() = default;

Encoding EventDecoder::Detect(std::string_view payload) {
  if (!payload.empty() && payload[0] == 0) return Encoding::kConfluent;
  size_t i = 0;
  while (i < payload.size() && (payload[i] == ' ' || payload[i] == '\t' || payload[i] == '\r' || payload[i] == '\n')) ++i;
  if (i < payload.size() && payload[i] == '{') return Encoding::kJson;
  return Encoding::kProtobuf;
}

namespace {

// libprotobuf writes its own "[libprotobuf ERROR ...]" lines to stderr, one
// per message with invalid UTF-8, past our rate limit and our log format. A
// parse on this thread collects them instead, for the rejection's detail;
// anything else goes to the log, at most one line a second.
thread_local std::string* t_parse_messages = nullptr;
std::atomic<int64_t> g_last_protobuf_log_ms{0};

void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  if (t_parse_messages && level < google::protobuf::LOGLEVEL_FATAL) {
    if (t_parse_messages->empty()) *t_parse_messages = message;
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t last = g_last_protobuf_log_ms.load();
  if (level < google::protobuf::LOGLEVEL_FATAL && (now - last < 1000 || !g_last_protobuf_log_ms.compare_exchange_strong(last, now)))
    return;
  Log(Component::kApp).warn("libprotobuf {}:{}: {}", file, line, message);
}

// Collects what libprotobuf says while it lives.
class ProtobufMessages {
 public:
  ProtobufMessages() {
    static const bool installed = [] {
      google::protobuf::SetLogHandler(&ProtobufLog);
      return true;
    }();
    (void)installed;
    t_parse_messages = &text_;
  }
  ~ProtobufMessages() { t_parse_messages = nullptr; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Skips the Confluent header; the message indexes are zigzag varints, and a
// single 0 stands for "the first message type".
bool StripConfluentHeader(std::string_view* payload, std::string* error) {
  if (payload->size() < 6) {
    *error = "confluent wire format: shorter than its 5-byte header";
    return false;
  }
  size_t pos = 5;
  auto read_varint = [&](int64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos < payload->size(); shift += 7) {
      uint8_t b = static_cast<uint8_t>((*payload)[pos++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
        return true;
      }
    }
    return false;
  };
  int64_t count;
  if (!read_varint(&count) || count < 0 || count > 64) {
    *error = "confluent wire format: bad message-index list";
    return false;
  }
  for (int64_t i = 0; i < count; ++i) {
    int64_t index;
    if (!read_varint(&index) || index < 0) {
      *error = "confluent wire format: bad message index";
      return false;
    }
  }
  payload->remove_prefix(pos);
  return true;
}

// The message type an error names: the schema's, not a decode-only view's.
template <typename Proto>
std::string TypeName(const Proto& msg) {
  return msg.GetTypeName();
}
std::string TypeName(const internal::PredictionEventWire&) { return v1::PredictionEvent::descriptor()->full_name(); }

// protobuf's own parsers: binary, and JSON that simdjson refused as not
// strict (protobuf also takes trailing commas and single quotes).
template <typename Proto>
bool Parse(Encoding enc, std::string_view payload, Proto* msg, std::string* error) {
  msg->Clear();
  ProtobufMessages said;
  if (enc == Encoding::kJson) {
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(payload.data(), payload.size()), msg, opts);
    if (!st.ok()) {
      *error = "json: " + std::string(st.message());
      return false;
    }
    return true;
  }
  if (enc == Encoding::kConfluent && !StripConfluentHeader(&payload, error)) return false;
  if (!msg->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    *error = "protobuf: not a valid " + TypeName(*msg) + (said.text().empty() ? "" : ": " + said.text());
    return false;
  }
  return true;
}

template <typename Proto>
void CopyEventFields(Proto* msg, Event* e) {
  e->event_id = std::move(*msg->mutable_event_id());
  e->user_id = std::move(*msg->mutable_user_id());
  e->item_id = std::move(*msg->mutable_item_id());
  e->request_id = std::move(*msg->mutable_request_id());
  e->category = std::move(*msg->mutable_category());
  e->ts_ms = msg->ts_ms();
  e->value = msg->value();
}

// Sorted by name, so replays see the same order (a protobuf map iterates in
// none), with one value per name: the last the message carried, as a map
// keeps it.
template <typename V>
void SortByNameLastWins(std::vector<std::pair<std::string, V>>* entries) {
  const auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
  // A prediction logs a handful of features: an insertion sort (stable, in
  // place) spares std::stable_sort's temporary buffer, an allocation per call.
  constexpr size_t kInsertionSortMax = 32;
  if (entries->size() <= kInsertionSortMax) {
    for (auto it = entries->begin() + std::min<size_t>(1, entries->size()); it != entries->end(); ++it) {
      if (!by_name(*it, *(it - 1))) continue;
      auto moving = std::move(*it);
      auto hole = it;
      for (; hole != entries->begin() && by_name(moving, *(hole - 1)); --hole) *hole = std::move(*(hole - 1));
      *hole = std::move(moving);
    }
  } else {
    std::stable_sort(entries->begin(), entries->end(), by_name);
  }
  auto out = entries->begin();
  for (auto it = entries->begin(); it != entries->end();) {
    auto run_end = std::find_if(it, entries->end(), [&](const auto& e) { return e.first != it->first; });
    if (out != run_end - 1) *out = std::move(*(run_end - 1));
    ++out;
    it = run_end;
  }
  entries->erase(out, entries->end());
}

template <typename Proto>
void CopyPredictionScalars(Proto* msg, PredictionRecord* r) {
  r->request_id = std::move(*msg->mutable_request_id());
  r->user_id = std::move(*msg->mutable_user_id());
  r->item_id = std::move(*msg->mutable_item_id());
  drift::Prediction& p = r->prediction;
  p.model = std::move(*msg->mutable_model());
  p.model_version = std::move(*msg->mutable_model_version());
  p.score = msg->score();
  p.ts_ms = msg->ts_ms();
}

void CopyPredictionFields(v1::PredictionEvent* msg, PredictionRecord* r) {
  CopyPredictionScalars(msg, r);
  drift::Prediction& p = r->prediction;
  p.features.assign(msg->features().begin(), msg->features().end());
  p.cat_features.assign(msg->cat_features().begin(), msg->cat_features().end());
  SortByNameLastWins(&p.features);
  SortByNameLastWins(&p.cat_features);
}

void CopyPredictionFields(internal::PredictionEventWire* msg, PredictionRecord* r) {
  CopyPredictionScalars(msg, r);
  drift::Prediction& p = r->prediction;
  p.features.clear();
  p.features.reserve(msg->features_size());
  for (const auto& e : msg->features()) p.features.emplace_back(e.key(), e.value());
  p.cat_features.clear();
  p.cat_features.reserve(msg->cat_features_size());
  for (const auto& e : msg->cat_features()) p.cat_features.emplace_back(e.key(), e.value());
  SortByNameLastWins(&p.features);
  SortByNameLastWins(&p.cat_features);
}

// A binary message read by protozero (protobuf_wire_reader.h), after the
// Confluent header if it has one; false when protobuf's parser must decide.
template <typename Read>
bool ReadWire(Encoding enc, std::string_view payload, Read read) {
  std::string ignored;
  if (enc == Encoding::kConfluent && !StripConfluentHeader(&payload, &ignored)) return false;
  return read(payload) == WireRead::kRead;
}

}  // namespace

std::optional<Rejection> EventDecoder::CheckIdsAndTime(std::initializer_list<const std::string*> ids, int64_t ts_ms,
                                                       int64_t now_ms) const {
  // ids: user_id and item_id first (required), then optional ones.
  auto it = ids.begin();
  if ((*it)->empty()) return Rejection{RejectReason::kMissingUserId, "user_id is empty"};
  if ((*++it)->empty()) return Rejection{RejectReason::kMissingItemId, "item_id is empty"};
  for (const std::string* id : ids) {
    if (id->size() > options_.max_id_bytes)
      return Rejection{RejectReason::kIdTooLong, "an id is " + std::to_string(id->size()) + " bytes, limit " +
                                                     std::to_string(options_.max_id_bytes)};
  }
  if (ts_ms <= 0) return Rejection{RejectReason::kInvalidTimestamp, "ts_ms must be > 0, got " + std::to_string(ts_ms)};
  if (ts_ms - now_ms > options_.max_future_skew_ms)  // a difference: now_ms + skew could overflow
    return Rejection{RejectReason::kFutureTimestamp, "ts_ms " + std::to_string(ts_ms) + " is " +
                                                         std::to_string(ts_ms - now_ms) + " ms ahead of the clock"};
  return std::nullopt;
}

bool EventDecoder::ReadEvent(EventType type, Encoding enc, std::string_view payload, Event* e, std::string* error) {
  if (enc == Encoding::kJson) {
    const auto outcome = scratch_->json.ReadEvent(payload, e, error);
    if (outcome != JsonEventReader::Outcome::kNotStrictJson) return outcome == JsonEventReader::Outcome::kRead;
  }
  if (enc != Encoding::kJson && ReadWire(enc, payload, [&](std::string_view body) { return ReadEventWire(body, e); }))
    return true;
  if (type == EventType::kView) {
    if (!Parse(enc, payload, &scratch_->view, error)) return false;
    CopyEventFields(&scratch_->view, e);
  } else {
    if (!Parse(enc, payload, &scratch_->click, error)) return false;
    CopyEventFields(&scratch_->click, e);
  }
  return true;
}

bool EventDecoder::ReadPrediction(Encoding enc, std::string_view payload, PredictionRecord* r, std::string* error) {
  if (enc == Encoding::kJson) {
    const auto outcome = scratch_->json.ReadPrediction(payload, r, error);
    if (outcome != JsonEventReader::Outcome::kNotStrictJson) return outcome == JsonEventReader::Outcome::kRead;
  }
  if (enc == Encoding::kJson) {
    if (!Parse(enc, payload, &scratch_->prediction, error)) return false;
    CopyPredictionFields(&scratch_->prediction, r);
    return true;
  }
  if (ReadWire(enc, payload, [&](std::string_view body) { return ReadPredictionWire(body, r); })) {
    SortByNameLastWins(&r->prediction.features);
    SortByNameLastWins(&r->prediction.cat_features);
    return true;
  }
  if (!Parse(enc, payload, &scratch_->prediction_wire, error)) return false;
  CopyPredictionFields(&scratch_->prediction_wire, r);
  return true;
}

std::variant<PredictionRecord, Rejection> EventDecoder::DecodePrediction(std::string_view payload, int64_t now_ms) {
  PredictionRecord r;
  if (auto rejection = DecodePredictionInto(payload, now_ms, &r)) return std::move(*rejection);
  return r;
}

std::variant<Event, Rejection> EventDecoder::Decode(EventType type, std::string_view payload, int64_t now_ms) {
  Event e;
  if (auto rejection = DecodeInto(type, payload, now_ms, &e)) return std::move(*rejection);
  return e;
}

std::optional<Rejection> EventDecoder::DecodePredictionInto(std::string_view payload, int64_t now_ms,
                                                            PredictionRecord* r) {
  if (payload.empty()) return Rejection{RejectReason::kDecodeError, "empty message"};
  const Encoding enc = Detect(payload);
  std::string error;
  r->prediction.sample_hash = 0;
  bool ok = ReadPrediction(enc, payload, r, &error);
  // Leading whitespace bytes are also valid protobuf tags; try that reading too.
  if (!ok && enc == Encoding::kJson && payload[0] != '{') ok = ReadPrediction(Encoding::kProtobuf, payload, r, &error);
  if (!ok) return Rejection{RejectReason::kDecodeError, error};
  const drift::Prediction& p = r->prediction;
  if (auto rejection = CheckIdsAndTime({&r->user_id, &r->item_id, &r->request_id, &p.model, &p.model_version}, p.ts_ms, now_ms))
    return rejection;
  if (p.model.empty()) return Rejection{RejectReason::kMissingModel, "model is empty"};
  if (!(p.score >= 0.0 && p.score <= 1.0))
    return Rejection{RejectReason::kInvalidScore, "score must be in [0, 1], got " + std::to_string(p.score)};
  for (const auto& [name, value] : p.features) {
    if (name.size() > options_.max_id_bytes) return Rejection{RejectReason::kIdTooLong, "a feature name is too long"};
  }
  for (const auto& [name, value] : p.cat_features) {
    if (name.size() > options_.max_id_bytes || value.size() > options_.max_id_bytes)
      return Rejection{RejectReason::kIdTooLong, "a categorical feature name or value is too long"};
  }
  return std::nullopt;
}

std::optional<Rejection> EventDecoder::DecodeInto(EventType type, std::string_view payload, int64_t now_ms, Event* e) {
  if (payload.empty()) return Rejection{RejectReason::kDecodeError, "empty message"};
  const Encoding enc = Detect(payload);
  std::string error;
  e->type = type;
  bool ok = ReadEvent(type, enc, payload, e, &error);
  // Leading whitespace bytes are also valid protobuf tags; try that reading too.
  if (!ok && enc == Encoding::kJson && payload[0] != '{') ok = ReadEvent(type, Encoding::kProtobuf, payload, e, &error);
  if (!ok) return Rejection{RejectReason::kDecodeError, error};

  if (auto rejection = CheckIdsAndTime({&e->user_id, &e->item_id, &e->request_id, &e->category, &e->event_id}, e->ts_ms, now_ms))
    return rejection;
  if (!(std::abs(e->value) <= kMaxAbsValue))  // NaN fails every comparison
    return Rejection{RejectReason::kInvalidValue, "value must be a finite number within +-1e15, got " + std::to_string(e->value)};
  return std::nullopt;
}

}  // namespace featmon
