// featmon-export: point-in-time training data for one model from the views,
// clicks and predictions topics (see tools/export/export_run.h and the README).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <iostream>

#include "tools/export/export_run.h"

// jemalloc's settings, read at its start (featmon_use_jemalloc links it into
// this program; without it, as under the sanitizers, nothing reads them).
// The replay reads and updates state scattered over hundreds of MB: huge
// pages save most TLB misses, and keeping freed pages (no decay) saves the
// page faults of taking them back. A batch job, it ends before that costs.
// On bench/export.sh's history, alternating runs: 12.42 -> 11.11 s, peak
// RSS 594 -> 711 MiB. One arena: with jemalloc's arena per thread, each
// arena keeps its own freed pages (librdkafka's threads allocate the fetch
// buffers this thread frees, the likely share); one arena took peak RSS
// from 709 to 610 MiB in the same time (9.16 against 8.95 s, means of 3
// alternating pairs). MALLOC_CONF overrides them.
extern "C" const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:always,dirty_decay_ms:-1,muzzy_decay_ms:-1,narenas:1";

int main(int argc, char** argv) {
  using namespace featmon;
  CLI::App cli{"featmon-export: labeled, point-in-time training examples of one model, split by time"};
  exporter::ExportOptions o;
  std::string config_path, split = "0.8,0.1,0.1", format = "csv";
  cli.add_option("--brokers", o.brokers, "Kafka bootstrap servers")->required();
  cli.add_option("--config", config_path, "featmond's config file: topics, features, attribution window (default: the embedded one)");
  cli.add_option("--model", o.model, "the model whose predictions become examples")->required();
  cli.add_option("--out", o.out_dir, "directory for train, validation and test files and summary.json")->required();
  cli.add_option("--from-ms", o.from_ms, "predictions at or after this event time (epoch ms); events from one longest window before");
  cli.add_option("--to-ms", o.to_ms, "predictions at or before this event time (epoch ms)");
  cli.add_option("--split", split, "train,validation,test fractions, split at quantiles of prediction time")->capture_default_str();
  cli.add_option("--format", format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}))->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  auto config = config_path.empty() ? LoadDefaultConfig() : LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "featmon-export: " << config.status().message() << "\n";
    return 2;
  }
  o.config = std::move(*config);
  auto fractions = training::ParseSplitFractions(split);
  if (!fractions.ok()) {
    std::cerr << "featmon-export: " << fractions.status().message() << "\n";
    return 2;
  }
  o.split = *fractions;
  o.format = format == "jsonl" ? exporter::Format::kJsonl : exporter::Format::kCsv;
  o.progress = isatty(STDERR_FILENO) == 1;
  auto summary = exporter::RunExport(o);
  if (!summary.ok()) {
    std::cerr << "featmon-export: " << summary.status().ToString() << "\n";
    return 1;
  }
  exporter::PrintSummary(o, *summary, std::cout);
  return 0;
}
