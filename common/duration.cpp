#include "common/duration.h"

#include <charconv>
#include <utility>

namespace featmon {

namespace {
constexpr std::pair<std::string_view, int64_t> kUnits[] = {
    {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000},
    {"m", 60LL * 1000},            {"s", 1000},                {"ms", 1},
};
}  // namespace

Result<int64_t> ParseDurationMs(std::string_view text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n < 0) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a duration (expected e.g. 500ms, 30s, 5m, 1h, 7d)");
  }
  std::string_view unit(end, text.data() + text.size() - end);
  if (unit.empty()) return n;
  for (const auto& [name, ms] : kUnits) {
    if (unit == name) {
      if (n > INT64_MAX / ms) return Status::InvalidArgument("duration '" + std::string(text) + "' overflows");
      return n * ms;
    }
  }
  return Status::InvalidArgument("unknown duration unit '" + std::string(unit) + "' in '" +
                                 std::string(text) + "' (use ms, s, m, h, d or w)");
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0ms";
  for (const auto& [name, unit_ms] : kUnits) {
    if (ms % unit_ms == 0) return std::to_string(ms / unit_ms) + std::string(name);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace featmon
