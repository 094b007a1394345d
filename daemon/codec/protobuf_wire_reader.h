// The protobuf wire format of views, clicks and predictions read straight
// into Event and PredictionRecord with protozero (libprotozero-dev), instead
// of building protobuf's message objects first: protobuf's generated parser
// spent about 5,500 instructions on a prediction with 7 logged features,
// 475 of them per feature entry (callgrind, 2026-12-07).
//
// Only for messages it is sure of: fields of the wire type their schema
// gives them (featmon.v1 ViewEvent, ClickEvent, PredictionEvent), strings
// that are UTF-8, unknown fields of any wire type but groups. Anything else
// (a known field with another wire type, a group, bytes that are not UTF-8,
// a truncated message) is kFallBack, and the caller parses the message with
// protobuf, which accepts or rejects it as before. So the decoded values
// are protobuf's in every case (tests/daemon/codec/protobuf_wire_reader_test
// checks it against protobuf on mutated messages). The record may be left
// half written on kFallBack; the caller overwrites every field it reads.
#pragma once

#include <string_view>

#include "daemon/codec/prediction_record.h"
#include "features/event.h"

namespace featmon {

enum class WireRead { kRead, kFallBack };

// A ViewEvent or ClickEvent (the same fields); leaves e->type alone.
WireRead ReadEventWire(std::string_view payload, Event* e);
// A PredictionEvent; its features and categorical features in the order the
// message carried them (the caller sorts them). Leaves sample_hash alone.
WireRead ReadPredictionWire(std::string_view payload, PredictionRecord* r);

}  // namespace featmon
