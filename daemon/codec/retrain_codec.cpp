#include "daemon/codec/retrain_codec.h"

#include <google/protobuf/util/json_util.h>

#include "featmon/v1/events.pb.h"

namespace featmon {

namespace {
v1::RetrainRequest ToProto(const drift::RetrainRequest& r) {
  v1::RetrainRequest p;
  p.set_model(r.model);
  p.set_model_version(r.model_version);
  for (const auto& reason : r.reasons) {
    auto* x = p.add_reasons();
    x->set_signal(drift::SignalName(reason.signal));
    x->set_feature(reason.feature);
    x->set_statistic(reason.statistic);
    x->set_value(reason.value);
    x->set_threshold(reason.threshold);
  }
  p.mutable_reference_window()->set_start_ms(r.reference_start_ms);
  p.mutable_reference_window()->set_end_ms(r.reference_end_ms);
  p.mutable_current_window()->set_start_ms(r.current_start_ms);
  p.mutable_current_window()->set_end_ms(r.current_end_ms);
  p.set_event_time_ms(r.event_time_ms);
  p.mutable_fresh_data()->set_start_ms(r.fresh_data_start_ms);
  p.mutable_fresh_data()->set_end_ms(r.fresh_data_end_ms);
  return p;
}
}  // namespace

std::string EncodeRetrainRequest(const drift::RetrainRequest& request) { return ToProto(request).SerializeAsString(); }

std::string RetrainRequestJson(const drift::RetrainRequest& request) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(ToProto(request), &out, options).ok()) return "{}";
  return out;
}

}  // namespace featmon
