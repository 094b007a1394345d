// Where model monitoring sends its retrain requests (the retrain topic and
// the webhooks), as an interface the monitor pipeline's tests can replace.
#pragma once

#include "common/status.h"
#include "drift/monitor_events.h"

namespace featmon {

class RetrainSink {
 public:
  virtual ~RetrainSink() = default;
  virtual Status Publish(const drift::RetrainRequest& request) = 0;
  // Waits until every published request is acknowledged by Kafka.
  virtual Status Flush(int timeout_ms) = 0;
};

}  // namespace featmon
