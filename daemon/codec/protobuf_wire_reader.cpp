#include "daemon/codec/protobuf_wire_reader.h"

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <simdjson.h>

#include <cstring>

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

// Whether `text` is UTF-8, as protobuf checks a proto3 string. Ids and
// names are almost always ASCII, checked a word at a time; simdjson's SIMD
// validator has a setup cost that strings this short feel (it was 37% of
// reading a prediction).
bool IsUtf8(std::string_view text) {
  uint64_t bits = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= text.size(); i += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    bits |= word;
  }
  for (; i < text.size(); ++i) bits |= static_cast<uint8_t>(text[i]);
  if ((bits & 0x8080808080808080ull) == 0) return true;
  return simdjson::validate_utf8(text.data(), text.size());
}

// A proto3 string field: length-delimited and UTF-8, else false (protobuf
// decides about the message).
bool ReadString(protozero::pbf_reader& field, std::string* out) {
  if (field.wire_type() != pbf_wire_type::length_delimited) return false;
  const protozero::data_view bytes = field.get_view();
  const std::string_view text(bytes.data(), bytes.size());
  if (!IsUtf8(text)) return false;
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

// Fills `*entry` from a NumericEntry or CategoricalEntry (key 1, value 2);
// fields absent keep their defaults.
template <typename V>
bool ReadEntry(protozero::pbf_reader entry, std::pair<std::string, V>* out) {
  while (Next(entry)) {
    bool ok;
    if (entry.tag() == 1) ok = ReadString(entry, &out->first);
    else if (entry.tag() == 2) {
      if constexpr (std::is_same_v<V, double>) ok = ReadDouble(entry, &out->second);
      else ok = ReadString(entry, &out->second);
    } else {
      ok = SkipUnknown(entry);
    }
    if (!ok) return false;
  }
  return true;
}

template <typename V>
bool AppendEntry(protozero::pbf_reader& field, std::vector<std::pair<std::string, V>>* entries) {
  if (field.wire_type() != pbf_wire_type::length_delimited) return false;
  entries->emplace_back();
  return ReadEntry(field.get_message(), &entries->back());
}

}  // namespace

WireRead ReadEventWire(std::string_view payload, Event* e) {
  ClearMessageFields(e);
  try {
    protozero::pbf_reader msg(payload.data(), payload.size());
    while (Next(msg)) {
      bool ok;
      switch (msg.tag()) {
        case 1: ok = ReadString(msg, &e->event_id); break;
        case 2: ok = ReadString(msg, &e->user_id); break;
        case 3: ok = ReadString(msg, &e->item_id); break;
        case 4: ok = ReadInt64(msg, &e->ts_ms); break;
        case 5: ok = ReadString(msg, &e->request_id); break;
        case 6: ok = ReadString(msg, &e->category); break;
        case 7: ok = ReadDouble(msg, &e->value); break;
        default: ok = SkipUnknown(msg); break;
      }
      if (!ok) return WireRead::kFallBack;
    }
  } catch (const protozero::exception&) {
    return WireRead::kFallBack;
  }
  return WireRead::kRead;
}

WireRead ReadPredictionWire(std::string_view payload, PredictionRecord* r) {
  ClearMessageFields(r);
  drift::Prediction& p = r->prediction;
  try {
    protozero::pbf_reader msg(payload.data(), payload.size());
    while (Next(msg)) {
      bool ok;
      switch (msg.tag()) {
        case 1: ok = ReadString(msg, &r->request_id); break;
        case 2: ok = ReadString(msg, &r->user_id); break;
        case 3: ok = ReadString(msg, &r->item_id); break;
        case 4: ok = ReadString(msg, &p.model); break;
        case 5: ok = ReadString(msg, &p.model_version); break;
        case 6: ok = ReadDouble(msg, &p.score); break;
        case 7: ok = ReadInt64(msg, &p.ts_ms); break;
        case 8: ok = AppendEntry(msg, &p.features); break;
        case 9: ok = AppendEntry(msg, &p.cat_features); break;
        default: ok = SkipUnknown(msg); break;
      }
      if (!ok) return WireRead::kFallBack;
    }
  } catch (const protozero::exception&) {
    return WireRead::kFallBack;
  }
  return WireRead::kRead;
}

}  // namespace featmon
