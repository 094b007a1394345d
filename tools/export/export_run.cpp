#include "tools/export/export_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/clock.h"
#include "tools/export/topic_replay.h"

namespace featmon::exporter {

namespace {
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void ShowProgress(const TopicReplay& replay, Clock::time_point start) {
  const double s = Since(start), rate = s > 0 ? static_cast<double>(replay.read_messages()) / s : 0;
  const uint64_t total = replay.total_messages(), done = replay.read_messages();
  const double eta = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : 0;
  std::fprintf(stderr, "\r  replayed %llu of %llu messages (%.0f%%), %.0f/s, %.0f s left   ",
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
               total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0, rate, eta);
}
}  // namespace

Result<ExportSummary> RunExport(const ExportOptions& o) {
  const auto start = Clock::now();
  auto features = FeatureSet::Compile(o.config.features);
  if (!features.ok()) return features.status();
  const auto& monitoring = o.config.monitoring.pipeline;
  const int64_t window_ms = monitoring.defaults.attribution_window_ms;

  ReplayOptions replay_options;
  replay_options.brokers = o.brokers;
  replay_options.properties = o.config.kafka.properties;
  replay_options.views_topic = o.config.kafka.views_topic;
  replay_options.clicks_topic = o.config.kafka.clicks_topic;
  replay_options.predictions_topic = o.config.kafka.predictions_topic;
  replay_options.decoder = o.config.ingest.pipeline.decoder;
  // The events before --from-ms that the first predictions' windows reach.
  replay_options.events_from_ms = o.from_ms < 0 ? -1 : std::max<int64_t>(0, o.from_ms - features->LongestWindowMs());
  replay_options.predictions_from_ms = o.from_ms;
  auto replay = TopicReplay::Open(replay_options);
  if (!replay.ok()) return replay.status();
  auto files = ExampleFiles::Open(o.out_dir, o.format, &*features);
  if (!files.ok()) return files.status();

  training::PointInTimeJoin join(&*features, o.model, window_ms, monitoring.allowed_lateness_ms);
  training::SkewReport skew(&*features);
  // Each example is spooled as the join hands it out, and labelled when its
  // label comes out, first in, first out.
  std::vector<training::ExampleLabel> labels;
  int64_t max_ts = 0;
  auto settle = [&]() -> Status {
    for (const training::ExampleLabel& label : labels) {
      skew.Settle(label);
      if (Status st = (*files)->Label(label); !st.ok()) return st;
    }
    labels.clear();
    return Status::Ok();
  };
  auto last_progress = Clock::now();
  for (uint64_t n = 0;; ++n) {
    auto next = (*replay)->Next();
    if (!next.ok()) return next.status();
    if (*next == nullptr) break;
    ReplayRecord& r = **next;
    max_ts = std::max(max_ts, r.ts_ms);
    if (r.prediction()) {
      PredictionRecord& p = std::get<PredictionRecord>(r.record);
      const bool in_range = (o.from_ms < 0 || r.ts_ms >= o.from_ms) && (o.to_ms < 0 || r.ts_ms <= o.to_ms);
      const training::TrainingExample* example =
          join.AddPrediction(p.request_id, p.user_id, p.item_id, std::move(p.prediction), &labels, in_range);
      if (example) {
        skew.Compare(*example);
        if (Status st = (*files)->Spool(*example); !st.ok()) return st;
      }
    } else {
      join.AddEvent(std::get<Event>(r.record), &labels);
    }
    if (!labels.empty())
      if (Status st = settle(); !st.ok()) return st;
    if (o.progress && (n & 0xffff) == 0 && Clock::now() - last_progress > std::chrono::milliseconds(500)) {
      ShowProgress(**replay, start);
      last_progress = Clock::now();
    }
  }
  if (o.progress) {
    ShowProgress(**replay, start);
    std::fprintf(stderr, "\n");
  }
  // As featmond's monitor once every partition has gone idle: the newest
  // event time less the allowed lateness.
  ExportSummary s;
  s.watermark_ms = max_ts - monitoring.allowed_lateness_ms;
  join.Finish(s.watermark_ms, &labels);
  if (Status st = settle(); !st.ok()) return st;
  auto splits = (*files)->Finish(o.split, window_ms, &s.plan);
  if (!splits.ok()) return splits.status();
  s.splits = *splits;
  s.join = join.counts();
  s.rejected = (*replay)->rejected();
  s.skew = skew.features();
  s.messages = (*replay)->read_messages();
  s.timestamp_fallbacks = (*replay)->timestamp_fallbacks();
  s.offsets_without_message = (*replay)->total_messages() - std::min((*replay)->total_messages(), s.messages);
  s.entities = join.entities();
  s.seconds = Since(start);
  std::ofstream(o.out_dir + "/summary.json") << SummaryJson(o, s) << "\n";
  return s;
}

std::string SummaryJson(const ExportOptions& o, const ExportSummary& s) {
  nlohmann::json j;
  j["model"] = o.model;
  j["format"] = FormatExtension(o.format);
  j["watermark_ms"] = s.watermark_ms;
  j["validation_from_ms"] = s.plan.validation_from_ms;
  j["test_from_ms"] = s.plan.test_from_ms;
  j["gap_ms"] = s.plan.gap_ms;
  for (training::Split split : {training::Split::kTrain, training::Split::kValidation, training::Split::kTest,
                                training::Split::kLeftOut}) {
    const int i = static_cast<int>(split);
    j["splits"][training::SplitName(split)] = {{"rows", s.splits.rows[i]}, {"positives", s.splits.positives[i]}};
    // How many predictions of its time span were left out before the next boundary.
    if (split != training::Split::kLeftOut) j["splits"][training::SplitName(split)]["left_out"] = s.splits.left_out_of[i];
  }
  j["warnings"] = SplitWarnings(s.splits, s.plan.gap_ms);
  j["predictions"] = s.join.predictions;
  j["not_matured"] = s.join.not_matured;
  j["out_of_range"] = s.join.out_of_range;
  j["other_models"] = s.join.other_models;
  j["out_of_order"] = s.join.out_of_order;
  j["events"] = s.join.events;
  j["messages"] = s.messages;
  j["timestamp_fallbacks"] = s.timestamp_fallbacks;
  j["offsets_without_message"] = s.offsets_without_message;
  j["rejected"] = s.rejected;
  for (const auto& [name, k] : s.skew)
    j["skew"][name] = {{"compared", k.compared}, {"differing", k.differing}, {"max_abs_difference", k.max_abs_difference}};
  j["seconds"] = s.seconds;
  return j.dump(2);
}

void PrintSummary(const ExportOptions& o, const ExportSummary& s, std::ostream& out) {
  out << "featmon-export: model " << o.model << ", " << s.messages << " messages in " << s.seconds << " s ("
      << (s.seconds > 0 ? static_cast<uint64_t>(static_cast<double>(s.messages) / s.seconds) : 0) << "/s), "
      << s.entities << " users and items\n";
  for (training::Split split : training::kSplits) {
    const int i = static_cast<int>(split);
    out << "  " << training::SplitName(split) << ": " << s.splits.rows[i] << " rows, " << s.splits.positives[i]
        << " positive -> " << o.out_dir << "/" << training::SplitName(split) << "." << FormatExtension(o.format) << "\n";
  }
  if (s.plan.validation_from_ms != INT64_MAX || s.plan.test_from_ms != INT64_MAX) {
    out << "  split at prediction time:";
    if (s.plan.validation_from_ms != INT64_MAX) out << " validation from " << FormatUtcMs(s.plan.validation_from_ms);
    if (s.plan.test_from_ms != INT64_MAX) out << (s.plan.validation_from_ms != INT64_MAX ? "," : "") << " test from "
                                              << FormatUtcMs(s.plan.test_from_ms);
    out << "\n";
  }
  const int left = static_cast<int>(training::Split::kLeftOut);
  out << "  left out: " << s.splits.rows[left] << " predictions within " << s.plan.gap_ms / 1000
      << " s (the attribution window) before a split boundary";
  if (s.splits.rows[left] > 0)
    out << ": " << s.splits.left_out_of[0] << " of train's time span, " << s.splits.left_out_of[1] << " of validation's";
  out << "\n";
  for (const std::string& w : SplitWarnings(s.splits, s.plan.gap_ms)) out << "  warning: " << w << "\n";
  out << "  not exported: " << s.join.not_matured << " whose labels had not matured by " << FormatUtcMs(s.watermark_ms)
      << " (" << s.watermark_ms << "), "
      << s.join.out_of_range << " outside --from-ms/--to-ms, " << s.join.other_models << " of other models, "
      << s.join.out_of_order << " records out of event-time order\n";
  for (const auto& [what, n] : s.rejected) out << "  rejected " << what << ": " << n << "\n";
  if (s.offsets_without_message > 0)
    out << "  " << s.offsets_without_message << " offsets held no message: transaction markers, aborted transactions, "
        << "compaction, or retention deleting the oldest while this read (then the history starts later)\n";
  if (s.timestamp_fallbacks > 0)
    out << "  " << s.timestamp_fallbacks << " partitions had no message at or after --from-ms by Kafka timestamp "
        << "(offsets for times); they were read from their start, and event times decided\n";
  if (s.skew.empty()) out << "  skew: no logged feature has a config feature's name (user.<name>, item.<name>)\n";
  for (const auto& [name, k] : s.skew)
    out << "  skew " << name << ": " << k.differing << " of " << k.compared << " logged values differ from the recomputed ("
        << (k.compared ? 100.0 * static_cast<double>(k.differing) / static_cast<double>(k.compared) : 0.0)
        << "%), largest difference " << k.max_abs_difference << "\n";
}

}  // namespace featmon::exporter
