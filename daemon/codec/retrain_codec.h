// A retrain request on the wire: protobuf (featmon.v1.RetrainRequest) for the
// retrain topic, and the same message in protobuf's JSON mapping, with the
// .proto field names, for webhooks.
#pragma once

#include <string>

#include "drift/monitor_events.h"

namespace featmon {

std::string EncodeRetrainRequest(const drift::RetrainRequest& request);
std::string RetrainRequestJson(const drift::RetrainRequest& request);

}  // namespace featmon
