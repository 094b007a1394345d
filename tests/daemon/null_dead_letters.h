// A dead-letter sink that accepts everything, for tests that feed no bad input.
#pragma once

#include "daemon/kafka/message_source.h"

namespace featmon::testing {

class NullDeadLetters : public DeadLetterSink {
 public:
  Status Send(const InputMessage&, std::string_view, std::string_view) override { return Status::Ok(); }
  Status Flush(int) override { return Status::Ok(); }
};

}  // namespace featmon::testing
