// Durations as people write them in config files: "250ms", "5m", "1h", "7d".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace featmon {

// Parses "<integer><unit>" with unit one of ms, s, m, h, d, w into milliseconds.
// A bare integer is milliseconds. Rejects negatives, overflow and unknown units.
Result<int64_t> ParseDurationMs(std::string_view text);

// The inverse, picking the largest unit that divides exactly: 3600000 -> "1h".
std::string FormatDurationMs(int64_t ms);

}  // namespace featmon
