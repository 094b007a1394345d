// libFuzzer target: protozero's reading of views, clicks and predictions
// (daemon/codec/protobuf_wire_reader.h) against protobuf's own parse of the
// same bytes. Whatever the wire reader reads, protobuf must read with the
// same values; anything else aborts. (What it hands back, protobuf decides
// in featmond, so any outcome of protobuf's is fine there.)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "daemon/codec/protobuf_wire_reader.h"
#include "featmon/internal/prediction_wire.pb.h"
#include "featmon/v1/events.pb.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}
bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void CheckView(std::string_view bytes) {
  featmon::Event e;
  if (featmon::ReadEventWire(bytes, &e) != featmon::WireRead::kRead) return;
  featmon::v1::ViewEvent want;
  Check(want.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  Check(e.event_id == want.event_id() && e.user_id == want.user_id() && e.item_id == want.item_id() &&
        e.request_id == want.request_id() && e.category == want.category() && e.ts_ms == want.ts_ms() &&
        SameBits(e.value, want.value()));
}

void CheckPrediction(std::string_view bytes) {
  featmon::PredictionRecord r;
  if (featmon::ReadPredictionWire(bytes, &r) != featmon::WireRead::kRead) return;
  featmon::internal::PredictionEventWire want;
  Check(want.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  const featmon::drift::Prediction& p = r.prediction;
  Check(r.request_id == want.request_id() && r.user_id == want.user_id() && r.item_id == want.item_id() &&
        p.model == want.model() && p.model_version == want.model_version() && SameBits(p.score, want.score()) &&
        p.ts_ms == want.ts_ms());
  Check(p.features.size() == static_cast<size_t>(want.features_size()));
  for (int i = 0; i < want.features_size(); ++i)
    Check(p.features[i].first == want.features(i).key() && SameBits(p.features[i].second, want.features(i).value()));
  Check(p.cat_features.size() == static_cast<size_t>(want.cat_features_size()));
  for (int i = 0; i < want.cat_features_size(); ++i)
    Check(p.cat_features[i].first == want.cat_features(i).key() &&
          p.cat_features[i].second == want.cat_features(i).value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckView(bytes);
  CheckPrediction(bytes);
  return 0;
}
