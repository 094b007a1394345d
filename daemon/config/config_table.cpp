#include "daemon/config/config_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "common/duration.h"

namespace featmon::config {

namespace {

constexpr std::pair<const char*, uint64_t> kByteUnits[] = {{"GB", 1ull << 30}, {"MB", 1ull << 20}, {"KB", 1ull << 10}, {"B", 1}};

bool Scalar(const YAML::Node& node, std::string* out) {
  if (!node.IsScalar()) return false;
  *out = node.as<std::string>();
  return true;
}

}  // namespace

Status Reader::CheckNoDuplicateKeys(const YAML::Node& node, const std::string& path) const {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      if (Status st = CheckNoDuplicateKeys(node[i], path + "[" + std::to_string(i) + "]"); !st.ok()) return st;
  }
  if (!node.IsMap()) return Status::Ok();
  std::map<std::string, int> first_line;  // key -> the line it first appears on
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string key_path = path.empty() ? key : path + "." + key;
    const int line = kv.first.Mark().line + 1;
    if (auto [it, inserted] = first_line.emplace(key, line); !inserted)
      return Error(key_path, "appears twice, on lines " + std::to_string(it->second) + " and " + std::to_string(line) +
                                 "; merge them into one");
    if (Status st = CheckNoDuplicateKeys(kv.second, key_path); !st.ok()) return st;
  }
  return Status::Ok();
}

Status Reader::CheckKeys(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known) const {
  if (!node.IsMap()) return Error(path.empty() ? "(top level)" : path, "expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::vector<std::string> sorted = known;
      std::sort(sorted.begin(), sorted.end());
      std::string list;
      for (const auto& k : sorted) list += (list.empty() ? "" : ", ") + k;
      return Error(path.empty() ? key : path + "." + key, "unknown key (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Status Reader::String(const YAML::Node& node, const std::string& path, std::string* out) const {
  if (!Scalar(node, out)) return Error(path, "expected a string");
  return Status::Ok();
}

Status Reader::Integer(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) const {
  std::string s;
  if (!Scalar(node, &s)) return Error(path, "expected an integer");
  int64_t v;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return Error(path, "'" + s + "' is not an integer");
  if (v < min || v > max)
    return Error(path, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  *out = v;
  return Status::Ok();
}

Status Reader::Duration(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) const {
  std::string s;
  if (!Scalar(node, &s)) return Error(path, "expected a duration such as 5m");
  auto d = ParseDurationMs(s);
  if (!d.ok()) return Error(path, d.status().message());
  if (*d < min) return Error(path, "must be at least " + FormatDurationMs(min));
  if (*d > max) return Error(path, "must be at most " + FormatDurationMs(max));
  *out = *d;
  return Status::Ok();
}

Status Reader::Bytes(const YAML::Node& node, const std::string& path, uint64_t min, uint64_t max, uint64_t* out) const {
  std::string s;
  if (!Scalar(node, &s)) return Error(path, "expected a size such as 256MB");
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const std::string unit(end, static_cast<size_t>(s.data() + s.size() - end));
  uint64_t scale = unit.empty() ? 1 : 0;
  for (const auto& [name, bytes] : kByteUnits)
    if (unit == name) scale = bytes;
  if (ec != std::errc() || end == s.data() || scale == 0) return Error(path, "'" + s + "' is not a size (e.g. 256MB)");
  if (v > max / scale || v * scale > max) return Error(path, "'" + s + "' is more than " + RenderBytes(max));
  if (v * scale < min) return Error(path, "'" + s + "' is less than " + RenderBytes(min));
  *out = v * scale;
  return Status::Ok();
}

Status Reader::Double(const YAML::Node& node, const std::string& path, double min, double max, double* out) const {
  std::string s;
  if (!Scalar(node, &s)) return Error(path, "expected a number");
  double v;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return Error(path, "'" + s + "' is not a number");
  if (v < min || v > max) return Error(path, s + " is out of range [" + RenderDouble(min) + ", " + RenderDouble(max) + "]");
  *out = v;
  return Status::Ok();
}

Status Reader::Bool(const YAML::Node& node, const std::string& path, bool* out) const {
  std::string s;
  if (!Scalar(node, &s) || (s != "true" && s != "false")) return Error(path, "expected true or false");
  *out = s == "true";
  return Status::Ok();
}

Status Reader::StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) const {
  if (!node.IsSequence()) return Error(path, "expected a list");
  out->clear();
  for (size_t i = 0; i < node.size(); ++i) {
    std::string s;
    if (!Scalar(node[i], &s)) return Error(path + "[" + std::to_string(i) + "]", "expected a string");
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

std::string RenderDuration(int64_t ms) { return FormatDurationMs(ms); }

std::string RenderBytes(uint64_t bytes) {
  if (bytes == 0) return "0";
  for (const auto& [name, unit] : kByteUnits)
    if (bytes % unit == 0) return std::to_string(bytes / unit) + name;
  return std::to_string(bytes);
}

std::string RenderDouble(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::string RenderString(const std::string& s) {
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':')) plain = false;
  if (plain) return s;
  YAML::Emitter e;
  e << YAML::DoubleQuoted << s;
  return e.c_str();
}

std::string RenderList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + RenderString(s);
  return "[" + out + "]";
}

void AppendCommentedLine(std::string* out, const std::string& line, const std::string& doc) {
  *out += line;
  if (!doc.empty()) {
    constexpr size_t kCommentColumn = 35;
    out->append(line.size() + 2 <= kCommentColumn ? kCommentColumn - line.size() : 2, ' ');
    *out += "# " + doc;
  }
  *out += '\n';
}

}  // namespace featmon::config
