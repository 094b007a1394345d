// No offset passes a message until what it caused elsewhere is delivered: its
// dead letter, the retrain request it raised. A pipeline registers each sink's
// flush, marks a sink when it sends something through it, and opens the gate
// before it commits offsets; the gate flushes every marked sink and stays shut
// (the commit fails, offsets are held) until all of them have delivered.
//
//   CommitGate gate(10'000);
//   const size_t dlq = gate.AddSink([&](int ms) { return dead_letters->Flush(ms); });
//   ... gate.Sent(dlq);
//   Status st = gate.Open();  // before store->Commit(...)
//
// Thread-safety: none; one pipeline's thread.
#pragma once

#include <functional>
#include <vector>

#include "common/status.h"

namespace featmon {

class CommitGate {
 public:
  using Flush = std::function<Status(int timeout_ms)>;
  explicit CommitGate(int flush_timeout_ms) : timeout_ms_(flush_timeout_ms) {}

  size_t AddSink(Flush flush);
  // Something went out through `sink` that the next commit will pass.
  void Sent(size_t sink) { sinks_[sink].pending = true; }
  // Flushes every sink sent to since it last delivered; the first failure
  // keeps the gate shut.
  Status Open();

 private:
  struct Sink {
    Flush flush;
    bool pending = false;
  };
  int timeout_ms_;
  std::vector<Sink> sinks_;
};

}  // namespace featmon
