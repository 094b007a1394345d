// featmon-gen: realistic synthetic click/view traffic to any Kafka broker.
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "common/clock.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  CLI::App cli{"featmon-gen: synthetic view and click events (Zipf items, users with their own CTR)"};
  std::string brokers, format = "proto", views_topic = "views", clicks_topic = "clicks", extra;
  double rate = 1000, duration_s = 0;
  uint64_t count = 0;
  featmon::TrafficOptions traffic;
  int64_t start_ts = 0, step_ms = 0;
  cli.add_option("--brokers", brokers, "Kafka bootstrap servers")->required();
  cli.add_option("--rate", rate, "events per second; 0 = as fast as possible")->capture_default_str();
  cli.add_option("--duration", duration_s, "seconds to run; 0 = until --count or Ctrl-C")->capture_default_str();
  cli.add_option("--count", count, "events to produce; 0 = no limit")->capture_default_str();
  cli.add_option("--users", traffic.users, "distinct users")->capture_default_str();
  cli.add_option("--items", traffic.items, "distinct items")->capture_default_str();
  cli.add_option("--zipf", traffic.item_zipf_s, "Zipf exponent of item popularity")->capture_default_str();
  cli.add_option("--ctr", traffic.base_ctr, "median click-through rate")->capture_default_str();
  cli.add_option("--seed", traffic.seed, "random seed")->capture_default_str();
  cli.add_option("--format", format, "proto, json, confluent or mixed")->capture_default_str();
  cli.add_option("--views-topic", views_topic)->capture_default_str();
  cli.add_option("--clicks-topic", clicks_topic)->capture_default_str();
  cli.add_option("--start-ts-ms", start_ts, "event time of the first event; 0 = the wall clock throughout");
  cli.add_option("--step-ms", step_ms, "with --start-ts-ms: event-time step per event");
  cli.add_option("--producer-config", extra, "extra librdkafka settings, k=v,k=v");
  bool predictions = false;
  std::string predictions_topic = "predictions", drift = "none";
  double drift_after_s = 0;
  cli.add_flag("--predictions", predictions, "also produce a PredictionEvent per view (model monitoring)");
  cli.add_option("--predictions-topic", predictions_topic)->capture_default_str();
  cli.add_option("--model", traffic.model)->capture_default_str();
  cli.add_option("--model-version", traffic.model_version)->capture_default_str();
  cli.add_option("--drift", drift, "none, shift (a numeric feature), reshuffle (device), calibration, score")
      ->capture_default_str();
  cli.add_option("--drift-at-ms", traffic.drift_at_ms, "event time the drift starts");
  cli.add_option("--drift-after", drift_after_s, "or: seconds of event time after the first event");
  cli.add_option("--drift-size", traffic.drift_size, "shift in standard deviations, or a factor")->capture_default_str();
  cli.add_option("--drift-feature", traffic.drift_feature, "numeric feature --drift shift moves")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  if (!featmon::ParseDrift(drift, &traffic.drift)) {
    std::cerr << "featmon-gen: --drift must be none, shift, reshuffle, calibration or score\n";
    return 2;
  }

  featmon::WireFormat wire = featmon::WireFormat::kProtobuf;
  if (format == "json") wire = featmon::WireFormat::kJson;
  else if (format == "confluent") wire = featmon::WireFormat::kConfluent;
  else if (format != "proto" && format != "mixed") {
    std::cerr << "featmon-gen: --format must be proto, json, confluent or mixed\n";
    return 2;
  }
  auto producer = featmon::SimpleProducer::Create(brokers, extra);
  if (!producer.ok()) {
    std::cerr << "featmon-gen: " << producer.status().message() << "\n";
    return 1;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  const auto& clock = featmon::SystemClock::Instance();
  if (drift_after_s > 0) traffic.drift_at_ms = (start_ts > 0 ? start_ts : clock.NowMs()) + static_cast<int64_t>(drift_after_s * 1000);
  featmon::TrafficGenerator gen(traffic);
  featmon::GeneratedPrediction prediction;
  const int64_t t0 = clock.MonotonicNs();
  uint64_t n = 0;
  while (!g_stop && (count == 0 || n < count)) {
    const int64_t elapsed_ns = clock.MonotonicNs() - t0;
    if (duration_s > 0 && elapsed_ns > static_cast<int64_t>(duration_s * 1e9)) break;
    if (rate > 0 && n >= static_cast<uint64_t>(elapsed_ns / 1e9 * rate)) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      continue;
    }
    const int64_t ts = start_ts > 0 ? start_ts + static_cast<int64_t>(n) * step_ms : clock.NowMs();
    bool has_prediction = false;
    featmon::Event e = gen.Next(ts, predictions ? &prediction : nullptr, &has_prediction);
    featmon::WireFormat w = format == "mixed" ? static_cast<featmon::WireFormat>(n % 3) : wire;
    if (has_prediction) {
      // Before the view: the model scored the candidate, then it was shown.
      featmon::Status sent = (*producer)->Send(predictions_topic, e.user_id, featmon::EncodePrediction(prediction, w));
      if (!sent.ok()) {
        std::cerr << "featmon-gen: " << sent.message() << "\n";
        return 1;
      }
    }
    featmon::Status st = (*producer)->Send(e.type == featmon::EventType::kView ? views_topic : clicks_topic,
                                           e.user_id, featmon::EncodeEvent(e, w));
    if (!st.ok()) {
      std::cerr << "featmon-gen: " << st.message() << "\n";
      return 1;
    }
    ++n;
  }
  featmon::Status st = (*producer)->Flush(30000);
  std::cerr << "featmon-gen: produced " << n << " events (" << (*producer)->delivered() << " delivered)\n";
  return st.ok() ? 0 : 1;
}
