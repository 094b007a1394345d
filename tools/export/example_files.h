// featmon-export's output: DIR/train, validation and test (.csv or .jsonl).
//
// Examples are spooled to DIR/.featmon-export.spool as they mature, in
// prediction-time order, because neither the split boundaries (quantiles of
// all prediction times) nor the logged columns (the union of what the
// predictions carried) are known before the end. Finish then writes each
// example to its split's file, leaving out those within one attribution
// window before a boundary, and removes the spool.
//
// Columns: ts_ms, request_id, user_id, item_id, model_version, score, label;
// logged.<name> for every feature a prediction logged (sorted by name;
// empty or absent where a prediction did not log it); user.<name> and
// item.<name> for every feature of the config. A list-valued feature
// (last_n_distinct) is one cell of values joined by '|' in CSV, an array in
// JSON Lines; a missing value is an empty cell, or null.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_codec.h"
#include "common/status.h"
#include "features/feature_spec.h"
#include "training/chronological_split.h"
#include "training/point_in_time_join.h"

namespace featmon::exporter {

enum class Format { kCsv, kJsonl };

struct SplitCounts {
  std::array<uint64_t, 4> rows{};       // by training::Split
  std::array<uint64_t, 4> positives{};
  // Of the rows left out, how many each split's time span held (by
  // training::Split; test's is 0, since no boundary follows it).
  std::array<uint64_t, 3> left_out_of{};
};

class ExampleFiles {
 public:
  static Result<std::unique_ptr<ExampleFiles>> Open(const std::string& dir, Format format, const FeatureSet* features);
  ~ExampleFiles();

  // In prediction-time order, as PointInTimeJoin hands them out; an example
  // older than the last is refused (InvalidArgument).
  Status Spool(const training::TrainingExample& example);
  uint64_t spooled() const { return spooled_; }
  // Writes the split files; `fractions` and the window decide the split.
  Result<SplitCounts> Finish(const training::SplitFractions& fractions, int64_t attribution_window_ms,
                             training::SplitPlan* plan);

 private:
  ExampleFiles() = default;
  // Appends one cell's text to `out`.
  void AppendCell(std::string* out, const FeatureValue& v) const;
  void AppendCell(std::string* out, std::string_view s) const;
  void AppendCell(std::string* out, double v) const;
  void AppendCell(std::string* out, int64_t v) const;
  // Appends one cell to record_, length-prefixed: formatted in place after a
  // one-byte length, which a cell of 128 bytes or more widens.
  template <typename T>
  void PutCell(const T& v) {
    const size_t at = record_.size();
    record_.push_back('\0');
    AppendCell(&record_, v);
    const size_t len = record_.size() - at - 1;
    if (len < 0x80) {
      record_[at] = static_cast<char>(len);
      return;
    }
    cell_.clear();
    PutVarint(&cell_, len);
    record_.replace(at, 1, cell_);
  }

  std::string dir_;
  Format format_ = Format::kCsv;
  const FeatureSet* features_ = nullptr;
  std::FILE* spool_ = nullptr;
  std::vector<char> spool_buffer_;  // stdio's, set with setvbuf: outlives spool_
  std::string spool_path_;
  // Examples come in prediction-time order (Spool refuses others), so the
  // split's quantiles are read back from the spool, not kept in memory.
  uint64_t spooled_ = 0;
  int64_t last_ts_ms_ = INT64_MIN;
  Status RewindSpool();  // writes what is buffered, then reads from the start
  Status ReadFrame(std::string* record, int64_t* ts_ms);
  Status PlanSplit(const training::SplitFractions& fractions, int64_t window_ms, training::SplitPlan* plan);
  std::map<std::string, size_t, std::less<>> logged_;  // logged feature name (no "logged." yet) -> spool id
  // Framed records not yet written to the spool: one write per kSpoolChunk.
  static constexpr size_t kSpoolChunk = 1 << 20;
  static constexpr size_t kFileBuffer = 1 << 20;  // stdio's buffer for the spool and the split files
  Status FlushSpool();
  std::string record_, cell_;
  // The logged names of the last example spooled, in its order, with their ids.
  std::vector<std::pair<std::string, size_t>> last_logged_;
};

// What a data scientist should hear about the split: a train or validation
// split that kept fewer rows than were left out of its time span (its span
// is not much longer than the attribution window left out before the next
// boundary). Empty when the split is sound.
std::vector<std::string> SplitWarnings(const SplitCounts& counts, int64_t gap_ms);

const char* FormatExtension(Format f);  // "csv", "jsonl"

}  // namespace featmon::exporter
