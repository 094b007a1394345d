// What a MonitorPipeline can be told. The config file's `monitoring:`
// section holds one of these (see daemon/config); the composition root sets
// the topics from `kafka:` and the decoder limits from `ingest:`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "daemon/codec/decoder_options.h"
#include "drift/monitor_options.h"

namespace featmon {

struct MonitorPipelineOptions {
  std::string predictions_topic = "predictions";  // PredictionEvent. Default: predictions
  std::string clicks_topic = "clicks";            // ClickEvent, for labels. Default: clicks
  int64_t commit_interval_ms = 5'000;             // state + offsets write period. Default: 5s
  size_t poll_batch = 10'000;                     // messages per poll. Default: 10,000
  int64_t allowed_lateness_ms = 30'000;           // subtracted from the watermark. Default: 30s
  int64_t partition_idle_timeout_ms = 30'000;     // a caught-up partition silent this long stops holding the watermark. Default: 30s
  size_t max_pending_labels = 2'000'000;          // beyond, predictions get no label. Default: 2,000,000
  size_t max_models = 20;                         // beyond, predictions are skipped. Default: 20
  // Matured examples the examples topic has not confirmed; beyond, reading
  // stops until it catches up. Default: 1,000,000
  size_t max_waiting_examples = 1'000'000;
  // How long a commit waits for the examples produced since the last one. Default: 500ms
  int examples_flush_timeout_ms = 500;
  drift::MonitorOptions defaults;                 // every model
  std::map<std::string, drift::MonitorOptions> models;  // per model
  DecoderOptions decoder;
};

}  // namespace featmon
