// featmon-export's floor, for bench/export.sh: the three topics read,
// decoded and merged in event-time order by the export's own TopicReplay,
// with nothing done per record. What featmon-export spends beyond this is
// the point-in-time join, the labels and the files.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "tools/export/topic_replay.h"

namespace {
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: export_replay BROKERS [librdkafka.key=value ...] (reads views, clicks and predictions)\n");
    return 2;
  }
  featmon::exporter::ReplayOptions options;
  options.brokers = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string setting = argv[i];
    const size_t eq = setting.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "export_replay: %s is not key=value\n", argv[i]);
      return 2;
    }
    options.properties[setting.substr(0, eq)] = setting.substr(eq + 1);
  }
  options.views_topic = "views";
  options.clicks_topic = "clicks";
  options.predictions_topic = "predictions";
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto replay = featmon::exporter::TopicReplay::Open(options);
  if (!replay.ok()) {
    std::fprintf(stderr, "export_replay: %s\n", replay.status().ToString().c_str());
    return 1;
  }
  uint64_t records = 0;
  int64_t checksum = 0;  // keeps the loop from being optimised away
  for (;;) {
    auto next = (*replay)->Next();
    if (!next.ok()) {
      std::fprintf(stderr, "export_replay: %s\n", next.status().ToString().c_str());
      return 1;
    }
    if (*next == nullptr) break;
    checksum += (*next)->ts_ms & 1;
    ++records;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  std::printf("messages=%llu records=%llu seconds=%.3f rate=%.0f cpu_seconds=%.3f checksum=%lld\n",
              static_cast<unsigned long long>((*replay)->read_messages()), static_cast<unsigned long long>(records),
              seconds, static_cast<double>((*replay)->read_messages()) / seconds, cpu,
              static_cast<long long>(checksum));
  return 0;
}
