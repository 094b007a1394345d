#include "daemon/codec/protobuf_wire_reader.h"

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>

#include "common/utf8.h"

namespace featmon {

namespace {

using protozero::pbf_wire_type;

// A tag or length protobuf refuses and protozero would read: a varint of
// more than 5 bytes, or wider than a tag's 32 bits or a length's 31.
struct VarintProtobufRefuses : protozero::exception {
  const char* what() const noexcept override { return "varint protobuf refuses"; }
};

// Throws when the varint at the reader's position is one protobuf refuses
// for a tag or a length: longer than 5 bytes, or a fifth byte above
// `max_fifth`. A truncated one is left to protozero, which throws too.
void CheckVarint(const protozero::pbf_reader& fields, uint8_t max_fifth) {
  const protozero::data_view rest = fields.data();
  for (size_t i = 0; i < rest.size() && i < 5; ++i) {
    const auto byte = static_cast<uint8_t>(rest.data()[i]);
    if (i == 4 && byte > max_fifth) throw VarintProtobufRefuses{};
    if (byte < 0x80) return;
  }
}

// Moves to the next field, as pbf_reader::next, but throws where the tag or
// the length that follows it is one protobuf would not read.
bool Next(protozero::pbf_reader& fields) {
  CheckVarint(fields, 0x0f);
  if (!fields.next()) return false;
  if (fields.wire_type() == pbf_wire_type::length_delimited) CheckVarint(fields, 0x07);
  return true;
}

// A proto3 string field: length-delimited and UTF-8, else false (protobuf
// decides about the message).
bool ReadString(protozero::pbf_reader& field, std::string* out) {
  if (field.wire_type() != pbf_wire_type::length_delimited) return false;
  const protozero::data_view bytes = field.get_view();
  const std::string_view text(bytes.data(), bytes.size());
  if (!IsValidUtf8(text)) return false;
  out->assign(text);
  return true;
}

bool ReadDouble(protozero::pbf_reader& field, double* out) {
  if (field.wire_type() != pbf_wire_type::fixed64) return false;
  *out = field.get_double();
  return true;
}

bool ReadInt64(protozero::pbf_reader& field, int64_t* out) {
  if (field.wire_type() != pbf_wire_type::varint) return false;
  *out = field.get_int64();
  return true;
}

// An unknown field: skipped, as protobuf keeps it aside. protozero does not
// skip groups (wire types 3 and 4); protobuf does.
bool SkipUnknown(protozero::pbf_reader& field) {
  field.skip();
  return true;
}

// Hands each field of `fields` to `read_field`, which returns false for one
// protobuf must decide about: then false.
template <typename ReadField>
bool ReadEachField(protozero::pbf_reader fields, ReadField read_field) {
  while (Next(fields))
    if (!read_field(fields)) return false;
  return true;
}

// A NumericEntry or CategoricalEntry (key 1, value 2) appended to
// `entries`; fields absent keep their defaults.
template <typename V>
bool AppendEntry(protozero::pbf_reader& field, std::vector<std::pair<std::string, V>>* entries) {
  if (field.wire_type() != pbf_wire_type::length_delimited) return false;
  auto& entry_pair = entries->emplace_back();
  std::string& key = entry_pair.first;  // not a structured binding: clang 14 cannot capture one
  V& value = entry_pair.second;
  return ReadEachField(field.get_message(), [&](protozero::pbf_reader& entry) {
    switch (entry.tag()) {
      case 1: return ReadString(entry, &key);
      case 2:
        if constexpr (std::is_same_v<V, double>) return ReadDouble(entry, &value);
        else return ReadString(entry, &value);
      default: return SkipUnknown(entry);
    }
  });
}

// The whole message, field by field; protozero's errors (a truncated
// message, a group) leave it to protobuf too.
template <typename ReadField>
WireRead ReadMessage(std::string_view payload, ReadField read_field) {
  try {
    return ReadEachField(protozero::pbf_reader(payload.data(), payload.size()), read_field) ? WireRead::kRead
                                                                                             : WireRead::kFallBack;
  } catch (const protozero::exception&) {
    return WireRead::kFallBack;
  }
}

}  // namespace

WireRead ReadEventWire(std::string_view payload, Event* e) {
  ClearMessageFields(e);
  return ReadMessage(payload, [e](protozero::pbf_reader& field) {
    switch (field.tag()) {
      case 1: return ReadString(field, &e->event_id);
      case 2: return ReadString(field, &e->user_id);
      case 3: return ReadString(field, &e->item_id);
      case 4: return ReadInt64(field, &e->ts_ms);
      case 5: return ReadString(field, &e->request_id);
      case 6: return ReadString(field, &e->category);
      case 7: return ReadDouble(field, &e->value);
      default: return SkipUnknown(field);
    }
  });
}

WireRead ReadPredictionWire(std::string_view payload, PredictionRecord* r) {
  ClearMessageFields(r);
  return ReadMessage(payload, [r, &p = r->prediction](protozero::pbf_reader& field) {
    switch (field.tag()) {
      case 1: return ReadString(field, &r->request_id);
      case 2: return ReadString(field, &r->user_id);
      case 3: return ReadString(field, &r->item_id);
      case 4: return ReadString(field, &p.model);
      case 5: return ReadString(field, &p.model_version);
      case 6: return ReadDouble(field, &p.score);
      case 7: return ReadInt64(field, &p.ts_ms);
      case 8: return AppendEntry(field, &p.features);
      case 9: return AppendEntry(field, &p.cat_features);
      default: return SkipUnknown(field);
    }
  });
}

}  // namespace featmon
