// Decodes one Kafka message into a validated Event, detecting the encoding
// per message:
//   - Confluent wire format: magic byte 0, 4-byte schema id, message-index
//     varints, then protobuf (a protobuf message never starts with byte 0);
//   - JSON in protobuf's JSON mapping, when the payload starts with '{'
//     (user_id and userId both accepted, ts_ms as number or string), read
//     by simdjson (json_event_reader.h);
//   - binary protobuf otherwise.
// A message that cannot be used yields a Rejection with a reason from a fixed
// set (a Prometheus label value) and a human-readable detail.
//
// Not thread-safe: holds scratch messages reused across calls.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/codec/decoder_options.h"
#include "daemon/codec/prediction_record.h"
#include "features/event.h"

namespace featmon {

enum class RejectReason {
  kDecodeError, kMissingUserId, kMissingItemId, kIdTooLong, kInvalidTimestamp, kFutureTimestamp,
  kMissingModel,  // prediction without a model name
  kInvalidScore,  // prediction score NaN or outside [0, 1]
  kInvalidValue,  // an event's value NaN, infinite or beyond kMaxAbsValue
};
inline constexpr RejectReason kAllRejectReasons[] = {
    RejectReason::kDecodeError,      RejectReason::kMissingUserId,   RejectReason::kMissingItemId,
    RejectReason::kIdTooLong,        RejectReason::kInvalidTimestamp, RejectReason::kFutureTimestamp,
    RejectReason::kMissingModel,     RejectReason::kInvalidScore,     RejectReason::kInvalidValue};
std::string_view RejectReasonName(RejectReason r);  // "decode_error", ...

enum class Encoding { kProtobuf, kConfluent, kJson };

// The largest |value| an event may carry. Doubles are exact to 2^53 (about
// 9e15); beyond this a sum could lose its units or, added often enough,
// reach infinity and turn every sum and ratio of the window into null.
inline constexpr double kMaxAbsValue = 1e15;

struct Rejection {
  RejectReason reason;
  std::string detail;
};

class EventDecoder {
 public:
  explicit EventDecoder(DecoderOptions options);
  ~EventDecoder();

  // `now_ms` is the wall clock, given by the caller; it only bounds future timestamps.
  std::variant<Event, Rejection> Decode(EventType type, std::string_view payload, int64_t now_ms);
  // PredictionEvent: the same encodings and id/time rules, plus a model name
  // and a score in [0, 1]. Feature names obey max_id_bytes too.
  std::variant<PredictionRecord, Rejection> DecodePrediction(std::string_view payload, int64_t now_ms);
  // The same two, into a record the caller reuses message after message:
  // its strings and vectors keep their capacity, so once they have grown a
  // decode allocates nothing. nullopt when the record holds the message
  // (a prediction's sample_hash 0); after a Rejection it holds nothing usable.
  [[nodiscard]] std::optional<Rejection> DecodeInto(EventType type, std::string_view payload, int64_t now_ms, Event* e);
  [[nodiscard]] std::optional<Rejection> DecodePredictionInto(std::string_view payload, int64_t now_ms,
                                                              PredictionRecord* r);
  static Encoding Detect(std::string_view payload);

 private:
  struct Scratch;
  // Reads a payload's fields, without checking them.
  bool ReadEvent(EventType type, Encoding enc, std::string_view payload, Event* e, std::string* error);
  bool ReadPrediction(Encoding enc, std::string_view payload, PredictionRecord* r, std::string* error);
  std::optional<Rejection> CheckIdsAndTime(std::initializer_list<const std::string*> ids, int64_t ts_ms, int64_t now_ms) const;
  DecoderOptions options_;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace featmon
