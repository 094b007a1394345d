// Writes the decoder targets' seed corpora (fuzz/corpus/decoder_*_fuzz/ and
// wire_reader_fuzz/):
// views, clicks and predictions as featmon-gen encodes them, in each target's
// framing (the Confluent target adds the magic byte itself). Run once after
// the event schema changes: make_seeds <fuzz dir>.
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/traffic.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = std::filesystem::path(argv[1]) / "corpus";
  featmon::TrafficGenerator gen({.users = 50, .items = 20, .base_ctr = 0.3, .seed = 3});
  const struct {
    const char* target;
    featmon::WireFormat format;
  } kTargets[] = {{"decoder_protobuf_fuzz", featmon::WireFormat::kProtobuf},
                  {"decoder_confluent_fuzz", featmon::WireFormat::kConfluent},
                  {"decoder_json_fuzz", featmon::WireFormat::kJson},
                  {"wire_reader_fuzz", featmon::WireFormat::kProtobuf}};
  for (const auto& t : kTargets) std::filesystem::create_directories(dir / t.target);
  int n = 0;
  for (int i = 0; n < 12; ++i) {
    featmon::GeneratedPrediction prediction;
    bool has_prediction = false;
    const featmon::Event e = gen.Next(1'789'000'000'000 + i * 1000, &prediction, &has_prediction);
    for (const auto& t : kTargets) {
      std::string event = featmon::EncodeEvent(e, t.format);
      std::string pred = has_prediction ? featmon::EncodePrediction(prediction, t.format) : "";
      if (t.format == featmon::WireFormat::kConfluent) {
        event.erase(0, 1);
        if (!pred.empty()) pred.erase(0, 1);
      }
      std::ofstream(dir / t.target / ("event-" + std::to_string(n)), std::ios::binary) << event;
      if (!pred.empty()) std::ofstream(dir / t.target / ("prediction-" + std::to_string(n)), std::ios::binary) << pred;
    }
    ++n;
  }
  return 0;
}
