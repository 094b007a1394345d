// featmon-export as a function: replay the topics, join, split, write, and
// say what happened. The command (tools/export_main.cpp) parses flags into
// ExportOptions and prints the summary.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "common/status.h"
#include "daemon/config/config.h"
#include "tools/export/example_files.h"
#include "training/chronological_split.h"
#include "training/point_in_time_join.h"
#include "training/skew_report.h"

namespace featmon::exporter {

struct ExportOptions {
  std::string brokers;                 // --brokers; required
  Config config;                       // --config, or the embedded default
  std::string model;                   // --model; required
  std::string out_dir;                 // --out; required
  int64_t from_ms = -1;                // --from-ms: predictions at or after; -1 from the earliest
  int64_t to_ms = -1;                  // --to-ms: predictions at or before; -1 to the end
  training::SplitFractions split;      // --split. Default: 0.8,0.1,0.1
  Format format = Format::kCsv;        // --format. Default: csv
  bool progress = false;               // progress lines on stderr (when it is a terminal)
};

struct ExportSummary {
  SplitCounts splits;
  training::SplitPlan plan;
  training::JoinCounts join;
  std::map<std::string, uint64_t> rejected;  // "topic/reason"
  std::map<std::string, training::FeatureSkew> skew;
  uint64_t messages = 0;                     // read from the topics
  // Offsets between the start and the end that held no message for the
  // replay: transaction markers, aborted transactions, compacted records, or
  // what retention deleted while it read.
  uint64_t offsets_without_message = 0;
  size_t timestamp_fallbacks = 0;            // partitions read from their start (see TopicReplay)
  size_t entities = 0;
  int64_t watermark_ms = 0;                  // labels due at or before it matured
  double seconds = 0;
};

Result<ExportSummary> RunExport(const ExportOptions& options);
// The summary for people, and as JSON (DIR/summary.json).
void PrintSummary(const ExportOptions& options, const ExportSummary& s, std::ostream& out);
std::string SummaryJson(const ExportOptions& options, const ExportSummary& s);

}  // namespace featmon::exporter
