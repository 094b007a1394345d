// A LabeledExample (featmon.v1.LabeledExample) in two steps. When the
// prediction arrives, what it says is encoded and waits with its pending
// label (a "pending example": the user id, the topic's key, then the
// encoding); when the label matures, the label is appended. Protobuf merges
// concatenated encodings of one message (later scalars win), so completing
// an example is an append, not a parse and re-encode.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "daemon/codec/prediction_record.h"
#include "drift/monitor_events.h"

namespace featmon {

std::string EncodePendingExample(const PredictionRecord& prediction);

struct KeyedExample {
  std::string key;    // the user id
  std::string value;  // the LabeledExample
};
// The pending example with the matured label; Corruption when `pending` is
// not one.
Result<KeyedExample> CompleteExample(std::string_view pending, const drift::MaturedLabel& label);

}  // namespace featmon
