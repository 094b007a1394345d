#include "tools/export/example_files.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/byte_codec.h"
#include "daemon/http/json_text.h"

namespace featmon::exporter {

namespace {
constexpr const char* kFixedColumns[] = {"ts_ms", "request_id", "user_id", "item_id", "model_version", "score", "label"};
constexpr size_t kFixedCount = std::size(kFixedColumns);
constexpr size_t kLabelColumn = kFixedCount - 1;  // the last fixed column
constexpr uint64_t kReleaseEvery = 1024;  // examples read back between ReleaseRead calls (each an lseek)
// A label as the labels file holds it.
enum LabelByte : uint8_t { kNegative = 0, kPositive = 1, kNotMatured = 2 };

void AppendCsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  *out += '"';
  for (char c : s) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}
}  // namespace

std::vector<std::string> SplitWarnings(const SplitCounts& counts, int64_t gap_ms) {
  std::vector<std::string> warnings;
  for (training::Split split : {training::Split::kTrain, training::Split::kValidation}) {
    const int i = static_cast<int>(split);
    const uint64_t kept = counts.rows[i], left = counts.left_out_of[i];
    if (left <= kept) continue;
    const std::string name = training::SplitName(split);
    warnings.push_back(name + " kept " + std::to_string(kept) + " of the " + std::to_string(kept + left) +
                       " predictions in its time span (" + std::to_string(100 * kept / (kept + left)) +
                       "%): the rest lie within one attribution window (" + std::to_string(gap_ms / 1000) +
                       " s) before the next split begins, and their labels would mature inside it. Export a "
                       "longer history (an earlier --from-ms) or give " + name + " a larger share (--split)");
  }
  return warnings;
}

const char* FormatExtension(Format f) { return f == Format::kCsv ? "csv" : "jsonl"; }

ExampleFiles::SpillFile::~SpillFile() {
  if (file_.is_open()) std::remove(file_.path().c_str());  // unlinked now, closed with file_
}

Status ExampleFiles::SpillFile::Open(std::string path) {
  chunk_.reserve(kChunk + 4096);
  return file_.Open(std::move(path), "w+b");
}

Status ExampleFiles::SpillFile::Flush() {
  if (Status st = file_.Write(chunk_); !st.ok()) return st;
  chunk_.clear();
  return Status::Ok();
}

Status ExampleFiles::SpillFile::Rewind() {
  if (Status st = Flush(); !st.ok()) return st;
  return file_.Rewind();
}

Result<std::unique_ptr<ExampleFiles>> ExampleFiles::Open(const std::string& dir, Format format, const FeatureSet* features) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("--out " + dir + ": cannot create it: " + ec.message());
  std::unique_ptr<ExampleFiles> f(new ExampleFiles());
  f->dir_ = dir;
  f->format_ = format;
  f->features_ = features;
  if (Status st = f->spool_.Open(dir + "/.featmon-export.spool"); !st.ok()) return st;
  if (Status st = f->labels_.Open(dir + "/.featmon-export.labels"); !st.ok()) return st;
  return f;
}

ExampleFiles::~ExampleFiles() = default;

void ExampleFiles::AppendCell(std::string* out, std::string_view s) const {
  if (format_ == Format::kCsv) AppendCsvField(out, s);
  else AppendJsonString(out, s);
}
void ExampleFiles::AppendCell(std::string* out, double v) const {
  const size_t start = out->size();
  AppendJsonDouble(out, v);  // shortest round trip; null for NaN
  if (format_ == Format::kCsv && std::string_view(*out).substr(start) == "null") out->resize(start);
}
void ExampleFiles::AppendCell(std::string* out, int64_t v) const { AppendJsonInt(out, v); }

namespace {
// The longest text to_chars writes for an int64 (20) or, shortest, a double (24).
constexpr size_t kNumberChars = 32;

// A number cell at `at`: its length (one byte, under 0x80), then its text.
template <typename T>
size_t WriteNumberCell(char* at, T v) {
  char* end = std::to_chars(at + 1, at + 1 + kNumberChars, v).ptr;
  at[0] = static_cast<char>(end - at - 1);
  return static_cast<size_t>(end - at);
}
}  // namespace

void ExampleFiles::PutCell(RecordWriter& w, int64_t v) { w.Advance(WriteNumberCell(w.Room(1 + kNumberChars), v)); }

void ExampleFiles::PutCell(RecordWriter& w, double v) {
  if (!std::isfinite(v)) return PutTextCell(w, v);  // null, or empty in CSV
  w.Advance(WriteNumberCell(w.Room(1 + kNumberChars), v));
}

void ExampleFiles::PutCell(RecordWriter& w, const FeatureValue& v) {
  switch (v.type) {
    case FeatureValue::Type::kInt: return PutCell(w, v.i);
    case FeatureValue::Type::kDouble: return PutCell(w, v.d);
    default: return PutTextCell(w, v);
  }
}

void ExampleFiles::AppendCell(std::string* out, const FeatureValue& v) const {
  switch (v.type) {
    case FeatureValue::Type::kInt: return AppendCell(out, v.i);
    case FeatureValue::Type::kDouble: return AppendCell(out, v.d);
    case FeatureValue::Type::kStrings: {
      if (format_ == Format::kCsv) {
        // Values joined by '|', quoted as one field when any needs it.
        const bool plain = std::none_of(v.strings.begin(), v.strings.end(), [](const std::string& x) {
          return x.find_first_of(",\"\r\n") != std::string::npos;
        });
        if (plain) {
          for (size_t i = 0; i < v.strings.size(); ++i) {
            if (i) *out += '|';
            out->append(v.strings[i]);
          }
          return;
        }
        std::string joined;
        for (size_t i = 0; i < v.strings.size(); ++i) {
          if (i) joined += '|';
          joined += v.strings[i];
        }
        return AppendCsvField(out, joined);
      }
      *out += '[';
      for (size_t i = 0; i < v.strings.size(); ++i) {
        if (i) *out += ',';
        AppendJsonString(out, v.strings[i]);
      }
      *out += ']';
      return;
    }
    case FeatureValue::Type::kNull: break;
  }
  if (format_ != Format::kCsv) *out += "null";
}

Status ExampleFiles::Spool(const training::TrainingExample& ex) {
  if (ex.ts_ms < last_ts_ms_)
    return Status::InvalidArgument("examples must be spooled in prediction-time order: " + std::to_string(ex.ts_ms) +
                                   " after " + std::to_string(last_ts_ms_));
  std::string& record = spool_.chunk();
  const size_t frame = record.size();
  PutFixed(&record, static_cast<uint32_t>(0));  // the frame's length, set below
  PutFixed(&record, ex.ts_ms);
  {
    RecordWriter w(&record);
    PutCell(w, ex.ts_ms);
    PutTextCell(w, std::string_view(ex.request_id));
    PutTextCell(w, std::string_view(ex.user_id));
    PutTextCell(w, std::string_view(ex.item_id));
    PutTextCell(w, std::string_view(ex.model_version));
    PutCell(w, ex.score);
    for (const FeatureValue& v : ex.user) PutCell(w, v);
    for (const FeatureValue& v : ex.item) PutCell(w, v);
    w.Advance(WriteVarint(w.Room(kMaxVarintBytes), ex.logged_numeric.size() + ex.logged_categorical.size()));
    // A model logs the same features in the same order prediction after
    // prediction: the name at the same position as last time is compared
    // first, before the map is searched.
    size_t position = 0;
    auto logged_id = [&](const std::string& name) {
      if (position == last_logged_.size()) last_logged_.emplace_back();
      auto& [last_name, id] = last_logged_[position++];
      if (last_name != name) {
        auto it = logged_.find(name);
        if (it == logged_.end()) it = logged_.emplace(name, logged_.size()).first;
        last_name = name;
        id = it->second;
      }
      w.Advance(WriteVarint(w.Room(kMaxVarintBytes), id));
    };
    for (const auto& [name, value] : ex.logged_numeric) {
      logged_id(name);
      PutCell(w, value);
    }
    for (const auto& [name, value] : ex.logged_categorical) {
      logged_id(name);
      PutTextCell(w, std::string_view(value));
    }
  }
  const uint32_t len = static_cast<uint32_t>(record.size() - frame - sizeof(uint32_t));  // far below 4 GiB
  std::memcpy(record.data() + frame, &len, sizeof len);  // as PutFixed writes it
  last_ts_ms_ = ex.ts_ms;
  ++spooled_;
  return spool_.Wrote();
}

Status ExampleFiles::Label(const training::ExampleLabel& label) {
  if (labelled_ == spooled_)
    return Status::InvalidArgument("a label for " + std::to_string(labelled_ + 1) + " examples, but " +
                                   std::to_string(spooled_) + " were spooled");
  std::string& rows = labels_.chunk();
  PutFixed(&rows, label.ts_ms);
  rows.push_back(static_cast<char>(!label.matured ? kNotMatured : label.clicked ? kPositive : kNegative));
  ++labelled_;
  exported_ += label.matured;
  return labels_.Wrote();
}

Status ExampleFiles::ReadLabel(LabelRow* row) {
  char bytes[sizeof(int64_t) + 1];
  if (Status st = labels_.Read(bytes, sizeof bytes); !st.ok()) return st;
  ByteReader in(std::string_view(bytes, sizeof bytes));
  if (!in.ReadFixed(&row->ts_ms)) return Status::Corruption(labels_.path());
  row->label = static_cast<uint8_t>(bytes[sizeof(int64_t)]);
  if (row->label > kNotMatured) return Status::Corruption(labels_.path() + ": label byte " + std::to_string(row->label));
  return Status::Ok();
}

Status ExampleFiles::ReadExample(std::string* record, LabelRow* row) {
  // A fixed32 frame length, then the record, which starts with its fixed64 time.
  uint32_t len = 0;
  if (Status st = spool_.Read(&len, sizeof(len)); !st.ok()) return st;
  record->resize(len);
  if (Status st = spool_.Read(record->data(), len); !st.ok()) return st;
  ByteReader in(*record);
  int64_t ts_ms = 0;
  if (!in.ReadFixed(&ts_ms)) return Status::Corruption(spool_.path());
  if (Status st = ReadLabel(row); !st.ok()) return st;
  if (row->ts_ms != ts_ms)
    return Status::InvalidArgument("the label given for the example at ts_ms " + std::to_string(ts_ms) +
                                   " was that of one at " + std::to_string(row->ts_ms) +
                                   ": labels must come in the order of their examples");
  return Status::Ok();
}

Status ExampleFiles::PlanSplit(const training::SplitFractions& fractions, int64_t window_ms, training::SplitPlan* plan) {
  // The labels are in time order: the boundaries are the times of two
  // exported examples, by position among them.
  const training::BoundaryIndexes at = training::QuantileIndexes(exported_, fractions);
  int64_t validation_from = INT64_MAX, test_from = INT64_MAX;
  if (Status st = labels_.Rewind(); !st.ok()) return st;
  LabelRow row;
  const uint64_t last = std::max(at.validation, at.test);
  for (uint64_t n = 0, exported = 0; n < labelled_ && exported <= last; ++n) {
    if (Status st = ReadLabel(&row); !st.ok()) return st;
    if (row.label == kNotMatured) continue;
    if (exported == at.validation) validation_from = row.ts_ms;
    if (exported == at.test) test_from = row.ts_ms;
    ++exported;
  }
  *plan = training::PlanFromBoundaryTimes(validation_from, test_from, window_ms);
  return Status::Ok();
}

Result<SplitCounts> ExampleFiles::Finish(const training::SplitFractions& fractions, int64_t window_ms,
                                         training::SplitPlan* plan) {
  if (labelled_ != spooled_)
    return Status::InvalidArgument(std::to_string(spooled_ - labelled_) + " of the " + std::to_string(spooled_) +
                                   " spooled examples have no label");
  if (Status st = PlanSplit(fractions, window_ms, plan); !st.ok()) return st;
  // Columns: fixed, logged (sorted by name), user, item.
  std::vector<std::string> columns(std::begin(kFixedColumns), std::end(kFixedColumns));
  std::vector<size_t> logged_position(logged_.size());
  for (const auto& [name, id] : logged_) {  // std::map: sorted
    logged_position[id] = columns.size() - kFixedCount;
    columns.push_back("logged." + name);
  }
  const size_t feature_start = columns.size();
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem})
    for (const CompiledFeature& f : features_->features(kind)) columns.push_back(std::string(EntityKindName(kind)) + "." + f.name);

  BufferedFile out[3];
  for (training::Split s : training::kSplits) {
    const int i = static_cast<int>(s);
    if (Status st = out[i].Open(dir_ + "/" + training::SplitName(s) + "." + FormatExtension(format_), "wb"); !st.ok())
      return st;
    if (format_ == Format::kCsv) {
      std::string header;
      for (size_t c = 0; c < columns.size(); ++c) {
        if (c) header += ',';
        AppendCsvField(&header, columns[c]);
      }
      header += '\n';
      if (Status st = out[i].Write(header); !st.ok()) return st;
    }
  }
  std::vector<std::string> json_keys;
  size_t json_keys_bytes = 0;
  for (const std::string& c : columns) {
    std::string k;
    AppendJsonString(&k, c);
    json_keys.push_back(k + ":");
    json_keys_bytes += json_keys.back().size();
  }

  SplitCounts counts;
  if (Status rewound = spool_.Rewind(); !rewound.ok()) return rewound;
  if (Status rewound = labels_.Rewind(); !rewound.ok()) return rewound;
  std::string record, line;
  std::vector<std::string_view> cells(columns.size());
  const std::string_view missing = format_ == Format::kCsv ? "" : "null";
  LabelRow row;
  for (uint64_t n = 0; n < spooled_; ++n) {
    if (Status read = ReadExample(&record, &row); !read.ok()) return read;
    // The spool is read once: its space goes to the split files as they grow.
    if (n % kReleaseEvery == kReleaseEvery - 1)
      if (Status released = spool_.ReleaseRead(); !released.ok()) return released;
    const int64_t ts = row.ts_ms;
    const uint8_t label = row.label;
    if (label == kNotMatured) continue;
    const training::Split split = plan->Assign(ts);
    const int si = static_cast<int>(split);
    ++counts.rows[si];
    counts.positives[si] += label == kPositive;
    if (split == training::Split::kLeftOut) {
      ++counts.left_out_of[static_cast<int>(plan->Period(ts))];
      continue;
    }
    ByteReader in(std::string_view(record).substr(sizeof(int64_t)));
    std::string_view cell;
    std::fill(cells.begin(), cells.end(), missing);
    // The fixed cells but the label, which the labels file holds.
    for (size_t c = 0; c < kLabelColumn; ++c)
      if (in.ReadLengthPrefixed(&cell)) cells[c] = cell;
    cells[kLabelColumn] = label == kPositive ? "1" : "0";
    const size_t feature_count = columns.size() - feature_start;
    for (size_t c = 0; c < feature_count; ++c)
      if (in.ReadLengthPrefixed(&cell)) cells[feature_start + c] = cell;
    uint64_t logged = 0, id = 0;
    if (!in.ReadVarint(&logged)) return Status::Corruption(spool_.path());
    for (uint64_t i = 0; i < logged; ++i)
      if (in.ReadVarint(&id) && id < logged_position.size() && in.ReadLengthPrefixed(&cell))
        cells[kFixedCount + logged_position[id]] = cell;
    // Written into `line` by pointer, at the size counted first (appends
    // cell by cell cost about 70 instructions each).
    size_t size = cells.size() + (format_ == Format::kCsv ? 0 : 2 + json_keys_bytes);  // separators, '\n', braces
    for (std::string_view c : cells) size += c.size();
    if (line.size() < size) line.resize(size);
    char* at = line.data();
    auto put = [&at](std::string_view bytes) {
      std::memcpy(at, bytes.data(), bytes.size());
      at += bytes.size();
    };
    if (format_ == Format::kJsonl) *at++ = '{';
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) *at++ = ',';
      if (format_ == Format::kJsonl) put(json_keys[c]);
      put(cells[c]);
    }
    if (format_ == Format::kJsonl) *at++ = '}';
    *at++ = '\n';
    if (Status st = out[si].Write(std::string_view(line.data(), size)); !st.ok()) return st;
  }
  for (BufferedFile& file : out)
    if (Status st = file.Close(); !st.ok()) return st;
  return counts;
}

}  // namespace featmon::exporter
