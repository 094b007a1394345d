#include "common/status.h"

namespace featmon {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: name = "InvalidArgument"; break;
    case StatusCode::kNotFound: name = "NotFound"; break;
    case StatusCode::kCorruption: name = "Corruption"; break;
    case StatusCode::kIOError: name = "IOError"; break;
    case StatusCode::kUnavailable: name = "Unavailable"; break;
    case StatusCode::kNoSpace: name = "NoSpace"; break;
    case StatusCode::kInternal: name = "Internal"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace featmon
