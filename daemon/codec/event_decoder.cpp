#include "daemon/codec/event_decoder.h"

#include <google/protobuf/util/json_util.h>

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
  }
  return "unknown";
}

struct EventDecoder::Scratch {
  v1::ViewEvent view;
  v1::ClickEvent click;
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

template <typename Proto>
bool Parse(Encoding enc, std::string_view payload, Proto* msg, std::string* error) {
  msg->Clear();
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
    *error = "protobuf: not a valid " + msg->GetTypeName();
    return false;
  }
  return true;
}

template <typename Proto>
void CopyFields(Proto* msg, Event* e) {
  e->event_id = std::move(*msg->mutable_event_id());
  e->user_id = std::move(*msg->mutable_user_id());
  e->item_id = std::move(*msg->mutable_item_id());
  e->request_id = std::move(*msg->mutable_request_id());
  e->category = std::move(*msg->mutable_category());
  e->ts_ms = msg->ts_ms();
  e->value = msg->value();
}

}  // namespace

std::variant<Event, Rejection> EventDecoder::Decode(EventType type, std::string_view payload, int64_t now_ms) {
  if (payload.empty()) return Rejection{RejectReason::kDecodeError, "empty message"};
  const Encoding enc = Detect(payload);
  std::string error;
  Event e;
  e.type = type;
  bool ok = type == EventType::kView ? Parse(enc, payload, &scratch_->view, &error)
                                     : Parse(enc, payload, &scratch_->click, &error);
  if (!ok && enc == Encoding::kJson && payload[0] != '{') {
    // Leading whitespace bytes are also valid protobuf tags; try that reading too.
    ok = type == EventType::kView ? Parse(Encoding::kProtobuf, payload, &scratch_->view, &error)
                                  : Parse(Encoding::kProtobuf, payload, &scratch_->click, &error);
  }
  if (!ok) return Rejection{RejectReason::kDecodeError, error};
  if (type == EventType::kView) CopyFields(&scratch_->view, &e);
  else CopyFields(&scratch_->click, &e);

  if (e.user_id.empty()) return Rejection{RejectReason::kMissingUserId, "user_id is empty"};
  if (e.item_id.empty()) return Rejection{RejectReason::kMissingItemId, "item_id is empty"};
  for (const std::string* id : {&e.user_id, &e.item_id, &e.request_id, &e.category, &e.event_id}) {
    if (id->size() > options_.max_id_bytes)
      return Rejection{RejectReason::kIdTooLong, "an id is " + std::to_string(id->size()) + " bytes, limit " +
                                                     std::to_string(options_.max_id_bytes)};
  }
  if (e.ts_ms <= 0) return Rejection{RejectReason::kInvalidTimestamp, "ts_ms must be > 0, got " + std::to_string(e.ts_ms)};
  if (e.ts_ms > now_ms + options_.max_future_skew_ms)
    return Rejection{RejectReason::kFutureTimestamp, "ts_ms " + std::to_string(e.ts_ms) + " is " +
                                                         std::to_string(e.ts_ms - now_ms) + " ms ahead of the clock"};
  return e;
}

}  // namespace featmon
