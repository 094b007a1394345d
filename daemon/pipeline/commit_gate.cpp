#include "daemon/pipeline/commit_gate.h"

namespace featmon {

size_t CommitGate::AddSink(Flush flush) {
  sinks_.push_back({std::move(flush)});
  return sinks_.size() - 1;
}

Status CommitGate::Open() {
  for (Sink& s : sinks_) {
    if (!s.pending) continue;
    Status st = s.flush(timeout_ms_);
    if (!st.ok()) return st;
    s.pending = false;
  }
  return Status::Ok();
}

}  // namespace featmon
