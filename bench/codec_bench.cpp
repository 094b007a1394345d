// Decoding figures (scripts/dev.sh bench runs this; so can you:
// build/bench/codec_bench). The same generated JSON views and predictions
// decoded by EventDecoder (simdjson, then the checks featmond makes) and, as
// the reference in the same run, by protobuf's JsonStringToMessage alone,
// the parser EventDecoder used before; binary protobuf for scale.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <vector>

#include "daemon/codec/event_decoder.h"
#include "featmon/v1/events.pb.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

// 4,096 messages of generated traffic in one encoding: views and clicks, or
// the predictions of the views.
std::vector<std::string> Messages(WireFormat format, bool predictions) {
  TrafficGenerator gen({.seed = 5});
  std::vector<std::string> out;
  for (int64_t i = 0; out.size() < 4096; ++i) {
    GeneratedPrediction p;
    bool has_prediction = false;
    Event e = gen.Next(kStartMs + i, &p, &has_prediction);
    if (!predictions) out.push_back(EncodeEvent(e, format));
    else if (has_prediction) out.push_back(EncodePrediction(p, format));
  }
  return out;
}

void Report(benchmark::State& state, const std::vector<std::string>& messages) {
  size_t bytes = 0;
  for (const auto& m : messages) bytes += m.size();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (bytes / messages.size())));
}

void BM_DecodeView(benchmark::State& state, WireFormat format) {
  const auto messages = Messages(format, false);
  EventDecoder decoder({});
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(decoder.Decode(EventType::kView, messages[i++ & 4095], kStartMs));
  Report(state, messages);
}
BENCHMARK_CAPTURE(BM_DecodeView, json, WireFormat::kJson)->Name("decode_view/json/featmon");
BENCHMARK_CAPTURE(BM_DecodeView, protobuf, WireFormat::kProtobuf)->Name("decode_view/binary_protobuf/featmon");

// The reference: protobuf's own JSON parser on the same messages, nothing else.
template <typename Proto>
void ProtobufJsonReference(benchmark::State& state, bool predictions) {
  const auto messages = Messages(WireFormat::kJson, predictions);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  Proto message;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& m = messages[i++ & 4095];
    benchmark::DoNotOptimize(google::protobuf::util::JsonStringToMessage(m, &message, options).ok());
  }
  Report(state, messages);
}
void BM_ProtobufJsonView(benchmark::State& state) { ProtobufJsonReference<v1::ViewEvent>(state, false); }
BENCHMARK(BM_ProtobufJsonView)->Name("decode_view/json/protobuf_reference");

void BM_DecodePrediction(benchmark::State& state, WireFormat format) {
  const auto messages = Messages(format, true);
  EventDecoder decoder({});
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(decoder.DecodePrediction(messages[i++ & 4095], kStartMs));
  Report(state, messages);
}
BENCHMARK_CAPTURE(BM_DecodePrediction, json, WireFormat::kJson)->Name("decode_prediction/json/featmon");
// What featmon-export and featmond's monitor decode most: the generator's and
// a protobuf producer's predictions.
BENCHMARK_CAPTURE(BM_DecodePrediction, protobuf, WireFormat::kProtobuf)
    ->Name("decode_prediction/binary_protobuf/featmon");

void BM_ProtobufJsonPrediction(benchmark::State& state) { ProtobufJsonReference<v1::PredictionEvent>(state, true); }
BENCHMARK(BM_ProtobufJsonPrediction)->Name("decode_prediction/json/protobuf_reference");

}  // namespace
}  // namespace featmon
