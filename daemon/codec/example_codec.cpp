#include "daemon/codec/example_codec.h"

#include "common/byte_codec.h"
#include "featmon/v1/events.pb.h"

namespace featmon {

std::string EncodePendingExample(const PredictionRecord& prediction) {
  const drift::Prediction& p = prediction.prediction;
  v1::LabeledExample ex;
  ex.set_request_id(prediction.request_id);
  ex.set_user_id(prediction.user_id);
  ex.set_item_id(prediction.item_id);
  ex.set_model(p.model);
  ex.set_model_version(p.model_version);
  ex.set_ts_ms(p.ts_ms);
  ex.set_score(p.score);
  auto& numeric = *ex.mutable_features();
  for (const auto& [name, value] : p.features) numeric[name] = value;
  auto& categorical = *ex.mutable_cat_features();
  for (const auto& [name, value] : p.cat_features) categorical[name] = value;
  std::string out;
  PutVarint(&out, prediction.user_id.size());
  out += prediction.user_id;
  ex.AppendToString(&out);
  return out;
}

Result<KeyedExample> CompleteExample(std::string_view pending, const drift::MaturedLabel& label) {
  ByteReader r(pending);
  std::string_view user, encoded;
  if (!r.ReadLengthPrefixed(&user) || !r.ReadBytes(r.remaining(), &encoded))
    return Status::Corruption("pending example of " + label.model);
  v1::LabeledExample tail;
  tail.set_label(label.clicked);
  if (label.clicked) tail.set_click_ts_ms(label.click_ts_ms);
  KeyedExample out{std::string(user), std::string(encoded)};
  tail.AppendToString(&out.value);
  return out;
}

}  // namespace featmon
