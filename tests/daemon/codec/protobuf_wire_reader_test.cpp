// protozero's reading of views and predictions against protobuf's own parse
// of the same bytes: on generated messages, and on the same messages
// truncated, with bytes flipped, fields repeated or given another wire
// type, unknown fields and groups added, strings that are not UTF-8, tags in
// over-long varints. Whatever the wire reader accepts, protobuf accepts with
// the same values; what it hands back (kFallBack), protobuf decides.
#include "daemon/codec/protobuf_wire_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "featmon/internal/prediction_wire.pb.h"
#include "featmon/v1/events.pb.h"

namespace featmon {
namespace {

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void PutVarint(std::string* out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>(v | 0x80));
  out->push_back(static_cast<char>(v));
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  uint64_t Next() { return rng_(); }
  double Number() {
    switch (rng_() % 5) {
      case 0: return 0;
      case 1: return static_cast<double>(rng_() % 100);
      case 2: return std::ldexp(static_cast<double>(rng_() % 1000), -static_cast<int>(rng_() % 20));
      case 3: return -1.5e300;
      default: {
        uint64_t bits = rng_();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
    }
  }

  // The message, changed in one or more of the ways above (or not at all).
  std::string Mutate(std::string m, int max_field) {
    const int changes = static_cast<int>(rng_() % 4);  // 0: as generated
    for (int c = 0; c < changes; ++c) {
      switch (rng_() % 7) {
        case 0: m.resize(rng_() % (m.size() + 1)); break;
        case 1:
          if (!m.empty()) m[rng_() % m.size()] ^= static_cast<char>(1u << (rng_() % 8));
          break;
        case 2: {  // a field of any number up to max_field + 2, of any wire type
          const uint32_t field = 1 + static_cast<uint32_t>(rng_() % (max_field + 2));
          const uint32_t wire = static_cast<uint32_t>(rng_() % 8);
          PutVarint(&m, (field << 3) | wire);
          if (wire == 0) PutVarint(&m, rng_());
          else if (wire == 1) m.append(8, '\x40');
          else if (wire == 5) m.append(4, '\x01');
          else if (wire == 2) {
            const std::string s = String(true);
            PutVarint(&m, s.size());
            m += s;
          } else if (wire == 3) {  // a group: a varint field, then its end
            PutVarint(&m, (1u << 3) | 0);
            PutVarint(&m, 7);
            PutVarint(&m, (field << 3) | 4);
          }
          break;
        }
        case 3: {  // a tag in an over-long varint
          std::string tag;
          PutVarint(&tag, (1u << 3) | 2);
          for (int extra = 1 + static_cast<int>(rng_() % 6); extra > 0; --extra) {
            tag.back() = static_cast<char>(tag.back() | 0x80);
            tag.push_back('\0');
          }
          m += tag;
          m += '\x02';
          m += "ok";
          break;
        }
        case 4: {  // field numbers 0 and 19000
          PutVarint(&m, (static_cast<uint64_t>(rng_() % 2 ? 0 : 19000) << 3) | 0);
          PutVarint(&m, 1);
          break;
        }
        default: {  // a string field again, maybe not UTF-8
          PutVarint(&m, (static_cast<uint32_t>(1 + rng_() % 3) << 3) | 2);
          const std::string s = String(true);
          PutVarint(&m, s.size());
          m += s;
          break;
        }
      }
    }
    return m;
  }

  // A string protobuf writes (UTF-8); with `any`, bytes that are not UTF-8 too.
  std::string String(bool any = false) {
    static const std::string kStrings[] = {"",           "u1",         "item-000042", "ctr_ranker",
                                           "v7",         "r-1234567890123456789",    "caf\xc3\xa9",
                                           std::string("a\0b", 3),   "\xff\xfe",      "\xc3",
                                           "\xed\xa0\x80"};
    constexpr size_t kUtf8 = 8;  // the first 8 are UTF-8
    return kStrings[rng_() % (any ? std::size(kStrings) : kUtf8)];
  }

 private:
  std::mt19937_64 rng_;
};

// 100,000 messages from `generate` (serialized by protobuf), each mutated,
// go through `read_and_compare(wire, i)`: true when the wire reader read it
// (and the values were compared with protobuf's), false when it fell back.
// Every unmutated message must be read, and many mutated ones too.
template <typename Generate, typename ReadAndCompare>
void ExpectReadAsProtobufDoes(Mutator& gen, int max_field, Generate generate, ReadAndCompare read_and_compare) {
  size_t read = 0, generated_read = 0, generated = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::string bytes = generate();
    const std::string wire = gen.Mutate(bytes, max_field);
    const bool was_read = read_and_compare(wire, i);
    if (::testing::Test::HasFatalFailure()) return;
    generated += wire == bytes;
    read += was_read;
    generated_read += was_read && wire == bytes;
  }
  EXPECT_EQ(generated_read, generated) << "every generated message is read without protobuf";
  EXPECT_GT(generated, 10'000u);
  EXPECT_GT(read, generated + 10'000) << "mutated messages are read too where they are sound";
}

// Protobuf parses `wire` (it must: the wire reader read it) into `*want`.
template <typename Message>
void ParseAsProtobuf(const std::string& wire, int i, Message* want) {
  ASSERT_TRUE(want->ParseFromString(wire)) << "read what protobuf refuses, message " << i << ": "
                                           << ::testing::PrintToString(wire);
}

TEST(ProtobufWireReader, ReadsViewsAsProtobufDoes) {
  Mutator gen(1);
  auto generate = [&] {
    v1::ViewEvent v;
    if (gen.Next() % 2) v.set_event_id(gen.String());
    v.set_user_id(gen.String());
    v.set_item_id(gen.String());
    v.set_ts_ms(static_cast<int64_t>(gen.Next() % 3 == 0 ? gen.Next() : 1'700'000'000'000 + gen.Next() % 1000));
    if (gen.Next() % 2) v.set_request_id(gen.String());
    if (gen.Next() % 2) v.set_category(gen.String());
    if (gen.Next() % 2) v.set_value(gen.Number());
    return v.SerializeAsString();
  };
  ExpectReadAsProtobufDoes(gen, 7, generate, [](const std::string& wire, int i) {
    Event e;
    if (ReadEventWire(wire, &e) != WireRead::kRead) return false;
    v1::ViewEvent want;
    ParseAsProtobuf(wire, i, &want);
    EXPECT_EQ(e.event_id, want.event_id()) << i;
    EXPECT_EQ(e.user_id, want.user_id()) << i;
    EXPECT_EQ(e.item_id, want.item_id()) << i;
    EXPECT_EQ(e.request_id, want.request_id()) << i;
    EXPECT_EQ(e.category, want.category()) << i;
    EXPECT_EQ(e.ts_ms, want.ts_ms()) << i;
    EXPECT_TRUE(SameBits(e.value, want.value())) << i;
    return true;
  });
}

TEST(ProtobufWireReader, ReadsPredictionsAsProtobufDoes) {
  Mutator gen(2);
  auto generate = [&] {
    internal::PredictionEventWire p;
    if (gen.Next() % 2) p.set_request_id(gen.String());
    p.set_user_id(gen.String());
    p.set_item_id(gen.String());
    p.set_model(gen.String());
    if (gen.Next() % 2) p.set_model_version(gen.String());
    p.set_score(gen.Number());
    p.set_ts_ms(static_cast<int64_t>(gen.Next()));
    for (int f = static_cast<int>(gen.Next() % 8); f > 0; --f) {
      auto* entry = p.add_features();
      if (gen.Next() % 4) entry->set_key(gen.String());
      if (gen.Next() % 4) entry->set_value(gen.Number());
    }
    for (int f = static_cast<int>(gen.Next() % 3); f > 0; --f) {
      auto* entry = p.add_cat_features();
      entry->set_key(gen.String());
      if (gen.Next() % 4) entry->set_value(gen.String());
    }
    return p.SerializeAsString();
  };
  ExpectReadAsProtobufDoes(gen, 9, generate, [](const std::string& wire, int i) {
    PredictionRecord r;
    if (ReadPredictionWire(wire, &r) != WireRead::kRead) return false;
    internal::PredictionEventWire want;
    ParseAsProtobuf(wire, i, &want);
    EXPECT_EQ(r.request_id, want.request_id()) << i;
    EXPECT_EQ(r.user_id, want.user_id()) << i;
    EXPECT_EQ(r.item_id, want.item_id()) << i;
    EXPECT_EQ(r.prediction.model, want.model()) << i;
    EXPECT_EQ(r.prediction.model_version, want.model_version()) << i;
    EXPECT_TRUE(SameBits(r.prediction.score, want.score())) << i;
    EXPECT_EQ(r.prediction.ts_ms, want.ts_ms()) << i;
    EXPECT_EQ(r.prediction.features.size(), static_cast<size_t>(want.features_size())) << i;
    for (int f = 0; f < want.features_size() && f < static_cast<int>(r.prediction.features.size()); ++f) {
      EXPECT_EQ(r.prediction.features[f].first, want.features(f).key()) << i;
      EXPECT_TRUE(SameBits(r.prediction.features[f].second, want.features(f).value())) << i;
    }
    EXPECT_EQ(r.prediction.cat_features.size(), static_cast<size_t>(want.cat_features_size())) << i;
    for (int f = 0; f < want.cat_features_size() && f < static_cast<int>(r.prediction.cat_features.size()); ++f) {
      EXPECT_EQ(r.prediction.cat_features[f].first, want.cat_features(f).key()) << i;
      EXPECT_EQ(r.prediction.cat_features[f].second, want.cat_features(f).value()) << i;
    }
    return true;
  });
}

}  // namespace
}  // namespace featmon
