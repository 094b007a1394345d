// featmon-export's output: DIR/train, validation and test (.csv or .jsonl).
//
// Each example is formatted as the join hands it out, at its prediction,
// while its features are in cache, and spooled to DIR/.featmon-export.spool
// in prediction-time order; its label follows later, first in first out, as
// 9 bytes in DIR/.featmon-export.labels (the example's time and the label).
// Neither the split boundaries (quantiles of the exported predictions'
// times) nor the logged columns (the union of what the predictions carried)
// are known before the end. Finish reads the labels file for the boundaries,
// then both files in step, and writes each exported example (its label
// matured) to its split's file, leaving out those within one attribution
// window before a boundary, and removes both. Memory: two 1 MiB chunks and
// five 1 MiB stdio buffers; disk: the rows once more, and 9 bytes per
// example. Finish gives the spool's space back as it reads it (a hole
// punched behind the read), so the split files take its disk and page
// cache rather than adding to them.
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
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_codec.h"
#include "common/status.h"
#include "features/feature_spec.h"
#include "tools/export/buffered_file.h"
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
  // The label of the oldest spooled example not labelled yet, in the order
  // PointInTimeJoin hands them out (Finish checks that each label's time is
  // its example's). An example whose label did not mature is not exported.
  Status Label(const training::ExampleLabel& label);
  uint64_t spooled() const { return spooled_; }
  uint64_t exported() const { return exported_; }  // labelled, and matured
  // Writes the split files once every spooled example is labelled;
  // `fractions` and the window decide the split.
  Result<SplitCounts> Finish(const training::SplitFractions& fractions, int64_t attribution_window_ms,
                             training::SplitPlan* plan);

 private:
  // A file of records written in 1 MiB chunks and read back from its start.
  // Removed with the object.
  class SpillFile {
   public:
    ~SpillFile();
    Status Open(std::string path);
    std::string& chunk() { return chunk_; }  // append records here, then call Wrote
    Status Wrote() { return chunk_.size() >= kChunk ? Flush() : Status::Ok(); }
    Status Rewind();  // writes what is held, then reads from the start
    Status Read(void* to, size_t n) { return file_.Read(to, n); }
    Status ReleaseRead() { return file_.ReleaseRead(); }
    const std::string& path() const { return file_.path(); }

   private:
    static constexpr size_t kChunk = 1 << 20;
    Status Flush();
    BufferedFile file_;
    std::string chunk_;
  };
  // A label as the labels file holds it: the example's time, then the label.
  struct LabelRow {
    int64_t ts_ms = 0;
    uint8_t label = 0;
  };

  // Writes a record's bytes into a string grown ahead of them, cut back to
  // what was written when it goes: a std::string append per cell cost about
  // 70 instructions (callgrind, 2026-12-07), more than formatting a number.
  class RecordWriter {
   public:
    explicit RecordWriter(std::string* out) : out_(out), pos_(out->size()) {}
    ~RecordWriter() { out_->resize(pos_); }
    // Where the next `n` bytes go; Advance(n) keeps those written.
    char* Room(size_t n) {
      if (out_->size() - pos_ < n) out_->resize(pos_ + n + kAhead);
      return out_->data() + pos_;
    }
    void Advance(size_t n) { pos_ += n; }
    void Put(std::string_view bytes) {
      std::memcpy(Room(bytes.size()), bytes.data(), bytes.size());
      Advance(bytes.size());
    }

   private:
    static constexpr size_t kAhead = 1024;  // a row's numbers, about
    std::string* out_;
    size_t pos_;
  };

  ExampleFiles() = default;
  // Appends one cell's text to `out`.
  void AppendCell(std::string* out, const FeatureValue& v) const;
  void AppendCell(std::string* out, std::string_view s) const;
  void AppendCell(std::string* out, double v) const;
  void AppendCell(std::string* out, int64_t v) const;
  // One cell, length-prefixed (a varint): numbers formatted in place, other
  // cells through AppendCell.
  void PutCell(RecordWriter& w, int64_t v);
  void PutCell(RecordWriter& w, double v);
  void PutCell(RecordWriter& w, const FeatureValue& v);
  template <typename T>
  void PutTextCell(RecordWriter& w, const T& v) {
    cell_.clear();
    AppendCell(&cell_, v);
    char* at = w.Room(kMaxVarintBytes);
    w.Advance(WriteVarint(at, cell_.size()));
    w.Put(cell_);
  }
  Status ReadLabel(LabelRow* row);
  // The next spooled example back (its time, then its cells) and its label.
  Status ReadExample(std::string* record, LabelRow* row);
  Status PlanSplit(const training::SplitFractions& fractions, int64_t window_ms, training::SplitPlan* plan);

  std::string dir_;
  Format format_ = Format::kCsv;
  const FeatureSet* features_ = nullptr;
  // Examples come in prediction-time order (Spool refuses others), so the
  // split's quantiles are read back from the spool, not kept in memory.
  SpillFile spool_, labels_;
  uint64_t spooled_ = 0, labelled_ = 0, exported_ = 0;
  int64_t last_ts_ms_ = INT64_MIN;
  std::map<std::string, size_t, std::less<>> logged_;  // logged feature name (no "logged." yet) -> spool id
  std::string cell_;
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
