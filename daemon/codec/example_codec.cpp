#include "daemon/codec/example_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include "common/byte_codec.h"
#include "featmon/v1/events.pb.h"

namespace featmon {

namespace {
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;
using WFL = google::protobuf::internal::WireFormatLite;

// The field numbers of featmon.v1.LabeledExample, from the generated code.
using Example = v1::LabeledExample;

void WriteLengthDelimited(int field, std::string_view s, CodedOutputStream* out) {
  WFL::WriteTag(field, WFL::WIRETYPE_LENGTH_DELIMITED, out);
  out->WriteVarint32(static_cast<uint32_t>(s.size()));
  out->WriteRaw(s.data(), static_cast<int>(s.size()));
}
// Bytes of WriteLengthDelimited with a one-byte tag (fields 1 and 2 of a map entry).
size_t LengthDelimitedSize(std::string_view s) { return 1 + CodedOutputStream::VarintSize32(s.size()) + s.size(); }

// A map<string, double> or map<string, string> entry: key 1, value 2.
void WriteEntry(int field, std::string_view name, double value, CodedOutputStream* out) {
  WFL::WriteTag(field, WFL::WIRETYPE_LENGTH_DELIMITED, out);
  out->WriteVarint32(static_cast<uint32_t>(LengthDelimitedSize(name) + 1 + 8));
  WriteLengthDelimited(1, name, out);
  WFL::WriteDouble(2, value, out);
}
void WriteEntry(int field, std::string_view name, std::string_view value, CodedOutputStream* out) {
  WFL::WriteTag(field, WFL::WIRETYPE_LENGTH_DELIMITED, out);
  out->WriteVarint32(static_cast<uint32_t>(LengthDelimitedSize(name) + LengthDelimitedSize(value)));
  WriteLengthDelimited(1, name, out);
  WriteLengthDelimited(2, value, out);
}
// proto3: a field at its default value is not written.
void WriteBytes(int field, std::string_view s, CodedOutputStream* out) {
  if (!s.empty()) WriteLengthDelimited(field, s, out);
}
}  // namespace

// Written field by field with protobuf's wire-format primitives: building a
// LabeledExample first cost two protobuf maps per prediction on the monitor's
// hot path. example_codec_test parses the result with the generated class.
std::string EncodePendingExample(const PredictionRecord& prediction) {
  const drift::Prediction& p = prediction.prediction;
  std::string out;
  PutVarint(&out, prediction.user_id.size());
  out += prediction.user_id;
  {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    WriteBytes(Example::kRequestIdFieldNumber, prediction.request_id, &coded);
    WriteBytes(Example::kUserIdFieldNumber, prediction.user_id, &coded);
    WriteBytes(Example::kItemIdFieldNumber, prediction.item_id, &coded);
    WriteBytes(Example::kModelFieldNumber, p.model, &coded);
    WriteBytes(Example::kModelVersionFieldNumber, p.model_version, &coded);
    if (p.ts_ms != 0) WFL::WriteInt64(Example::kTsMsFieldNumber, p.ts_ms, &coded);
    if (p.score != 0) WFL::WriteDouble(Example::kScoreFieldNumber, p.score, &coded);
    for (const auto& [name, value] : p.features) WriteEntry(Example::kFeaturesFieldNumber, name, value, &coded);
    for (const auto& [name, value] : p.cat_features) WriteEntry(Example::kCatFeaturesFieldNumber, name, value, &coded);
  }  // the coded stream gives back the bytes it did not use
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
