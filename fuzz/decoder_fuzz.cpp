// libFuzzer target for the event decoders. One source, three binaries: the
// FEATMON_FUZZ_ENCODING definition picks which decoder the input reaches.
//   0 binary protobuf: inputs that would be detected as another encoding are skipped
//   1 Confluent wire format: the input follows the magic byte 0
//   2 JSON: the input follows an opening brace unless it starts with one
// Each input is decoded as a view, a click and a prediction. Any outcome is
// fine except a crash, a sanitizer report, or an accepted event that breaks
// the decoder's own rules (ids present and bounded, timestamp in range,
// score in [0, 1]).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/codec/event_decoder.h"

namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;  // fixed, so runs repeat

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static featmon::EventDecoder decoder(featmon::DecoderOptions{});
  std::string payload(reinterpret_cast<const char*>(data), size);
#if FEATMON_FUZZ_ENCODING == 0
  if (featmon::EventDecoder::Detect(payload) != featmon::Encoding::kProtobuf) return -1;  // not added to the corpus
#elif FEATMON_FUZZ_ENCODING == 1
  payload.insert(payload.begin(), '\0');
#else
  if (payload.empty() || payload.front() != '{') payload.insert(payload.begin(), '{');
#endif
  const featmon::DecoderOptions limits;
  for (featmon::EventType type : {featmon::EventType::kView, featmon::EventType::kClick}) {
    auto decoded = decoder.Decode(type, payload, kNowMs);
    if (const auto* e = std::get_if<featmon::Event>(&decoded)) {
      Check(!e->user_id.empty() && !e->item_id.empty());
      Check(e->user_id.size() <= limits.max_id_bytes && e->item_id.size() <= limits.max_id_bytes);
      Check(e->ts_ms > 0 && e->ts_ms <= kNowMs + limits.max_future_skew_ms);
    }
  }
  auto prediction = decoder.DecodePrediction(payload, kNowMs);
  if (const auto* p = std::get_if<featmon::PredictionRecord>(&prediction)) {
    Check(!p->prediction.model.empty());
    Check(std::isfinite(p->prediction.score) && p->prediction.score >= 0 && p->prediction.score <= 1);
  }
  return 0;
}
