// Time as a dependency. Pure code never calls now(); the composition root
// hands a SystemClock to adapters, tests hand a ManualClock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace featmon {

// Thread-safe: implementations may be read from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Monotonic time for measuring intervals, nanoseconds from an arbitrary origin.
  virtual int64_t MonotonicNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonotonicNs() const override;
  static const SystemClock& Instance();
};

// A clock that moves only when told to. Both readings share one value.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 0) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicNs() const override { return now_ms_.load() * 1'000'000; }
  void SetMs(int64_t ms) { now_ms_.store(ms); }
  void AdvanceMs(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Epoch milliseconds as RFC 3339 in UTC, to the millisecond
// ("2026-12-07T10:52:59.709Z"), for people reading logs and summaries.
std::string FormatUtcMs(int64_t epoch_ms);

}  // namespace featmon
