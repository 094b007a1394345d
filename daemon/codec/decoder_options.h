// The limits an EventDecoder enforces on every event and prediction.
#pragma once

#include <cstddef>
#include <cstdint>

namespace featmon {

struct DecoderOptions {
  // Events more than this far ahead of the wall clock are rejected. Default: 5 minutes.
  int64_t max_future_skew_ms = 5 * 60'000;
  // Longest accepted user_id / item_id / other id, in bytes. Default: 256.
  size_t max_id_bytes = 256;
};

}  // namespace featmon
